"""bind code failures (the wrong-code rate limit) and member imports (a POS export is applied once)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 08:43:58.086604
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_imports")),
        sa.UniqueConstraint("file_sha256", name=op.f("uq_member_imports_file_sha256")),
    )
    op.create_table(
        "bind_code_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_bind_code_failures_line_user_id_line_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bind_code_failures")),
    )
    with op.batch_alter_table("bind_code_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bind_code_failures_line_user_id"), ["line_user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bind_code_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bind_code_failures_line_user_id"))

    op.drop_table("bind_code_failures")
    op.drop_table("member_imports")
