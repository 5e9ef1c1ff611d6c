"""Marketer's console: a large campaign waits for a second marketer's approval (issue 14, part 3)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 11:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("approved_by_staff_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_campaigns_approved_by_staff_id_staff"), "staff", ["approved_by_staff_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint(batch.f("fk_campaigns_approved_by_staff_id_staff"), type_="foreignkey")
        batch.drop_column("approved_at")
        batch.drop_column("approved_by_staff_id")
