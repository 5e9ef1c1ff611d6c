"""rich_menu_deployments.content_hash and deployed_at: `omo richmenu deploy` skips menus whose definition and
image are unchanged

Rows recorded before this migration have no hash, so the next deploy creates their menus afresh.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rich_menu_deployments") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("deployed_at", models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rich_menu_deployments") as batch:
        batch.drop_column("deployed_at")
        batch.drop_column("content_hash")
