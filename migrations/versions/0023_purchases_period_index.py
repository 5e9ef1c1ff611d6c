"""Segments: an index on purchases by time and member, so a period's spend and visits per member are an index-only
scan on PostgreSQL (issue 14)

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 11:35:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.create_index(
            "ix_purchases_created_at_member_id",
            ["created_at", "member_id"],
            unique=False,
            postgresql_include=["amount", "refunded_amount", "store_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.drop_index("ix_purchases_created_at_member_id")
