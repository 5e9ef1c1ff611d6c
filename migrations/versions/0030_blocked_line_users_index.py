"""The LINE users who blocked the account, indexed on their own: every outbox delivery checks its recipients against
them, probing a small index instead of every friend's (issue 14: campaign delivery at LINE's multicast rate).

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-30 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_line_users_blocked",
        "line_users",
        ["line_user_id"],
        unique=False,
        postgresql_where=sa.text("is_blocked"),
        sqlite_where=sa.text("is_blocked"),
    )


def downgrade() -> None:
    op.drop_index("ix_line_users_blocked", table_name="line_users")
