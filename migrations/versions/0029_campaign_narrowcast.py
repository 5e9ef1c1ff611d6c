"""Campaign narrowcast (issue 14, part 4): a campaign's delivery (multicast or narrowcast), the reason a start was
refused, and one row per variant sent by narrowcast (its audience, retry key, request id and progress)

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-30 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("delivery", sa.String(16), nullable=False, server_default="multicast"))
        batch.add_column(sa.Column("refused_reason", sa.String(200), nullable=True))
        batch.create_check_constraint("delivery_known", "delivery IN ('multicast', 'narrowcast')")
    op.create_table(
        "campaign_narrowcasts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id"), nullable=False),
        sa.Column("cohort", sa.String(16), nullable=False),
        sa.Column("retry_key", sa.String(36), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("coupons_up_to", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("audience_group_id", sa.BigInteger(), nullable=True),
        sa.Column("uploaded", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("phase", sa.String(16), nullable=True),
        sa.Column("success_count", sa.Integer(), nullable=True),
        sa.Column("failure_count", sa.Integer(), nullable=True),
        sa.Column("target_count", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("failed_description", sa.String(500), nullable=True),
        sa.Column("checked_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("campaign_id", "cohort", name=op.f("uq_campaign_narrowcasts_campaign_id_cohort")),
        sa.UniqueConstraint("retry_key", name=op.f("uq_campaign_narrowcasts_retry_key")),
        sa.CheckConstraint("cohort IN ('A', 'B')", name=op.f("ck_campaign_narrowcasts_cohort_sent")),
        sa.CheckConstraint(
            "uploaded >= 0 AND uploaded <= recipients", name=op.f("ck_campaign_narrowcasts_uploaded_range")
        ),
        sa.CheckConstraint(
            "phase IS NULL OR phase IN ('waiting', 'sending', 'succeeded', 'failed')",
            name=op.f("ck_campaign_narrowcasts_phase_known"),
        ),
    )


def downgrade() -> None:
    op.drop_table("campaign_narrowcasts")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint("ck_campaigns_delivery_known", type_="check")
        batch.drop_column("refused_reason")
        batch.drop_column("delivery")
