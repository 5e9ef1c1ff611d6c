"""Tags can be deleted (issue 14, the marketer's console): a deleted tag is archived, not removed, so the append-only
member_tag_events that name it keep their tag. `deleted_at` and who deleted it; a tag's name is unique among the tags
not deleted (a partial unique index), so a deleted tag's name can be used again. A deleted rule tag lets go of its
segment when the segment is deleted (its segment_id may then be empty).

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-30 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE_HAS_SEGMENT = (
    "(kind = 'rule' AND (segment_id IS NOT NULL OR deleted_at IS NOT NULL)) OR (kind = 'manual' AND segment_id IS NULL)"
)
RULE_HAS_SEGMENT_BEFORE = "(kind = 'rule' AND segment_id IS NOT NULL) OR (kind = 'manual' AND segment_id IS NULL)"


def upgrade() -> None:
    with op.batch_alter_table("tags") as batch:
        batch.add_column(sa.Column("deleted_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deleted_by_staff_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_tags_deleted_by_staff_id_staff"), "staff", ["deleted_by_staff_id"], ["id"])
        batch.drop_constraint("uq_tags_name", type_="unique")
        batch.drop_constraint(op.f("ck_tags_rule_has_segment"), type_="check")
        batch.create_check_constraint(op.f("ck_tags_rule_has_segment"), RULE_HAS_SEGMENT)
    op.create_index(
        "uq_tags_name_live",
        "tags",
        ["name"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
        sqlite_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_tags_name_live", table_name="tags")
    with op.batch_alter_table("tags") as batch:
        batch.create_unique_constraint("uq_tags_name", ["name"])
        batch.drop_constraint(op.f("ck_tags_rule_has_segment"), type_="check")
        batch.create_check_constraint(op.f("ck_tags_rule_has_segment"), RULE_HAS_SEGMENT_BEFORE)
        batch.drop_constraint("fk_tags_deleted_by_staff_id_staff", type_="foreignkey")
        batch.drop_column("deleted_by_staff_id")
        batch.drop_column("deleted_at")
