"""Programme settings on the console (issue 14, part 1): stamp-card template versions, the tier table as versioned
settings (version 1 seeded with the values the programme shipped with, so nothing changes), and daily-task
settings versions

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 12:52:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# The tier table as bot/services/rewards/tiers.py had it as constants before this migration.
SHIPPED_TIERS = (
    ("regular", 0, 100, None),
    ("silver", 10_000, 120, "BDAY-SILVER"),
    ("gold", 30_000, 150, "BDAY-GOLD"),
)


def upgrade() -> None:
    op.create_table(
        "stamp_card_template_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_stamp_card_template_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["stamp_card_templates.id"],
            name=op.f("fk_stamp_card_template_versions_template_id_stamp_card_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_stamp_card_template_versions_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stamp_card_template_versions")),
        sa.UniqueConstraint("template_id", "version", name="uq_stamp_card_template_versions_template_id_version"),
    )
    with op.batch_alter_table("stamp_card_template_versions") as batch:
        batch.create_index(batch.f("ix_stamp_card_template_versions_template_id"), ["template_id"], unique=False)

    versions = op.create_table(
        "tier_settings_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_tier_settings_versions_version_positive")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_tier_settings_versions_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_settings_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_tier_settings_versions_version")),
    )
    tiers = op.create_table(
        "tier_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("earn_multiplier_pct", sa.Integer(), nullable=False),
        sa.Column("birthday_coupon", sa.String(length=32), nullable=True),
        sa.CheckConstraint("code IN ('regular', 'silver', 'gold')", name=op.f("ck_tier_settings_code_known")),
        sa.CheckConstraint("threshold >= 0", name=op.f("ck_tier_settings_threshold_not_negative")),
        sa.CheckConstraint(
            "earn_multiplier_pct BETWEEN 100 AND 500", name=op.f("ck_tier_settings_multiplier_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["tier_settings_versions.id"],
            name=op.f("fk_tier_settings_version_id_tier_settings_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_settings")),
        sa.UniqueConstraint("version_id", "code", name="uq_tier_settings_version_id_code"),
    )
    with op.batch_alter_table("tier_settings") as batch:
        batch.create_index(batch.f("ix_tier_settings_version_id"), ["version_id"], unique=False)
    # No explicit ids: PostgreSQL's sequences must stay ahead of the rows.
    op.bulk_insert(versions, [{"version": 1, "staff_id": None, "at": datetime.now(UTC)}])
    first = sa.select(versions.c.id).where(versions.c.version == 1).scalar_subquery()
    for code, threshold, pct, gift in SHIPPED_TIERS:
        op.execute(
            tiers.insert().values(
                version_id=first, code=code, threshold=threshold, earn_multiplier_pct=pct, birthday_coupon=gift
            )
        )

    op.create_table(
        "task_settings_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=40), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version > 0", name=op.f("ck_task_settings_versions_version_positive")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_task_settings_versions_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_settings_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_task_settings_versions_version")),
    )


def downgrade() -> None:
    op.drop_table("task_settings_versions")
    with op.batch_alter_table("tier_settings") as batch:
        batch.drop_index(batch.f("ix_tier_settings_version_id"))
    op.drop_table("tier_settings")
    op.drop_table("tier_settings_versions")
    with op.batch_alter_table("stamp_card_template_versions") as batch:
        batch.drop_index(batch.f("ix_stamp_card_template_versions_template_id"))
    op.drop_table("stamp_card_template_versions")
