"""coupons.expiry_reminded_at: a coupon's expiry reminder is said once, recorded on the coupon

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("coupons", sa.Column("expiry_reminded_at", models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("coupons") as batch:
        batch.drop_column("expiry_reminded_at")
