"""Segments at scale: a member's purchases by time (covering spend, stores and refunds), a store's purchases by time
(covering the member), and a member's latest consent (covering the opt-in), so a segment is evaluated member by
member on index-only scans (issue 14). The new purchase indexes replace the single-column ones they start with.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30 13:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("purchases") as batch:
        batch.create_index(
            "ix_purchases_member_id_created_at",
            ["member_id", "created_at"],
            unique=False,
            postgresql_include=["store_id", "amount", "refunded_amount"],
        )
        batch.create_index(
            "ix_purchases_store_id_created_at",
            ["store_id", "created_at"],
            unique=False,
            postgresql_include=["member_id"],
        )
        batch.drop_index("ix_purchases_member_id")
        batch.drop_index("ix_purchases_store_id")
    with op.batch_alter_table("consents") as batch:
        batch.create_index(
            "ix_consents_member_id_id", ["member_id", "id"], unique=False, postgresql_include=["marketing_opt_in"]
        )


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_index("ix_consents_member_id_id")
    with op.batch_alter_table("purchases") as batch:
        batch.create_index("ix_purchases_store_id", ["store_id"], unique=False)
        batch.create_index("ix_purchases_member_id", ["member_id"], unique=False)
        batch.drop_index("ix_purchases_store_id_created_at")
        batch.drop_index("ix_purchases_member_id_created_at")
