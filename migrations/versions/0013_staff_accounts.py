"""staff accounts: sign-in (password hash, session version, last login), roles checked, store optional for admins
and marketers; staff_audit records every change staff make

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("session_version", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("last_login_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch.alter_column("store_id", existing_type=sa.Integer(), nullable=True)
        batch.create_check_constraint("role_known", "role IN ('admin', 'manager', 'clerk', 'marketer')")
        batch.create_check_constraint("store_staff_have_store", "role IN ('admin', 'marketer') OR store_id IS NOT NULL")
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_staff_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("target_type", sa.String(length=30), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(["actor_staff_id"], ["staff.id"], name=op.f("fk_staff_audit_actor_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    with op.batch_alter_table("staff_audit") as batch:
        batch.create_index(batch.f("ix_staff_audit_at"), ["at"], unique=False)
        batch.create_index(batch.f("ix_staff_audit_actor_staff_id"), ["actor_staff_id"], unique=False)


def downgrade() -> None:
    op.drop_table("staff_audit")
    with op.batch_alter_table("staff") as batch:
        batch.drop_constraint("store_staff_have_store", type_="check")
        batch.drop_constraint("role_known", type_="check")
        batch.alter_column("store_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("last_login_at")
        batch.drop_column("session_version")
        batch.drop_column("password_hash")
