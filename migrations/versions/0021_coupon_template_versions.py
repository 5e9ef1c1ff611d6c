"""Marketer's console: the version history of coupon templates (issue 14, part 1)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30 11:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coupon_template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_coupon_template_versions_template_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_coupon_template_versions_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_template_versions")),
        sa.UniqueConstraint("template_id", "version", name="uq_coupon_template_versions_template_id_version"),
    )
    with op.batch_alter_table("coupon_template_versions") as batch:
        batch.create_index(batch.f("ix_coupon_template_versions_template_id"), ["template_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coupon_template_versions") as batch:
        batch.drop_index(batch.f("ix_coupon_template_versions_template_id"))
    op.drop_table("coupon_template_versions")
