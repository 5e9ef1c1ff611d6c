"""Missions: an English name beside the zh-TW one (`title_en`, optional: without it English speakers see the zh-TW
name as the chat translates it), set in the engagement YAML or on the daily-task settings page (issue 14).

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-30 16:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("missions") as batch:
        batch.add_column(sa.Column("title_en", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("missions") as batch:
        batch.drop_column("title_en")
