"""Marketer's console: saved segments (issue 14, part 2)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 11:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_by_staff_id", sa.Integer(), nullable=True),
        _at("updated_at"),
        sa.Column("updated_by_staff_id", sa.Integer(), nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"], ["staff.id"], name=op.f("fk_segments_created_by_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_staff_id"], ["staff.id"], name=op.f("fk_segments_updated_by_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("name", name=op.f("uq_segments_name")),
    )


def downgrade() -> None:
    op.drop_table("segments")
