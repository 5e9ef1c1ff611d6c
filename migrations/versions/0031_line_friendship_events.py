"""LINE friendship history: one row per follow and unfollow, append-only, so that a campaign report counts every
recipient who blocked the account after the campaign started (even one who came back since); backfilled with an
unfollow at `blocked_at` for each LINE user blocked now, the only past event the old columns still tell (issue 14).

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "line_friendship_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('follow', 'unfollow')", name=op.f("ck_line_friendship_events_kind_known")),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_line_friendship_events_line_user_id_line_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_friendship_events")),
    )
    op.create_index(
        "ix_line_friendship_events_line_user_id_at", "line_friendship_events", ["line_user_id", "at"], unique=False
    )
    op.create_index(
        "ix_line_friendship_events_unfollows",
        "line_friendship_events",
        ["at", "line_user_id"],
        unique=False,
        postgresql_where=sa.text("kind = 'unfollow'"),
        sqlite_where=sa.text("kind = 'unfollow'"),
    )
    # Who is blocked today blocked at blocked_at; earlier blocks (undone by a follow since) are not known.
    op.execute(
        "INSERT INTO line_friendship_events (line_user_id, kind, at) "
        "SELECT id, 'unfollow', blocked_at FROM line_users WHERE is_blocked AND blocked_at IS NOT NULL "
        "ORDER BY blocked_at, id"
    )


def downgrade() -> None:
    op.drop_index("ix_line_friendship_events_unfollows", table_name="line_friendship_events")
    op.drop_index("ix_line_friendship_events_line_user_id_at", table_name="line_friendship_events")
    op.drop_table("line_friendship_events")
