"""point expiry reminders: one per member and expiry date

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "point_expiry_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_point_expiry_reminders_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_expiry_reminders")),
        sa.UniqueConstraint("member_id", "expires_on", name="uq_point_expiry_reminders_member_id_expires_on"),
    )
    with op.batch_alter_table("point_expiry_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_expiry_reminders_member_id"), ["member_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("point_expiry_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_expiry_reminders_member_id"))
    op.drop_table("point_expiry_reminders")
