"""member barcode: keys, spent codes, scan log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 08:57:08.502262
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "barcode_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_barcode_keys_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barcode_keys")),
        sa.UniqueConstraint("member_id", name=op.f("uq_barcode_keys_member_id")),
    )
    op.create_table(
        "barcode_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("time_step", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_barcode_uses_member_id_members")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_barcode_uses_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barcode_uses")),
        sa.UniqueConstraint("member_id", "time_step", name="uq_barcode_uses_member_id_time_step"),
    )
    with op.batch_alter_table("barcode_uses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_barcode_uses_member_id"), ["member_id"], unique=False)

    op.create_table(
        "scan_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_scan_log_member_id_members")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_scan_log_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_scan_log_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_log")),
    )
    with op.batch_alter_table("scan_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scan_log_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_scan_log_store_id"), ["store_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("scan_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scan_log_store_id"))
        batch_op.drop_index(batch_op.f("ix_scan_log_member_id"))

    op.drop_table("scan_log")
    with op.batch_alter_table("barcode_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_barcode_uses_member_id"))

    op.drop_table("barcode_uses")
    op.drop_table("barcode_keys")
