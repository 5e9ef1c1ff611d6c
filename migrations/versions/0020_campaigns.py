"""Marketer's console: campaigns and their recipients (issue 14, parts 3 and 4)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 11:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("variants", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("holdout_percent", sa.Integer(), nullable=False),
        sa.Column("b_percent", sa.Integer(), nullable=False),
        sa.Column("coupon_template_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        _at("send_at"),
        _at("started_at", nullable=True),
        sa.Column("created_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("cancelled_by_staff_id", sa.Integer(), nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], name=op.f("fk_campaigns_segment_id_segments")),
        sa.ForeignKeyConstraint(
            ["coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_campaigns_coupon_template_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_staff_id"], ["staff.id"], name=op.f("fk_campaigns_created_by_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["cancelled_by_staff_id"], ["staff.id"], name=op.f("fk_campaigns_cancelled_by_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_status_send_at", "campaigns", ["status", "send_at"], unique=False)
    op.create_table(
        "campaign_recipients",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.String(length=16), nullable=False),
        sa.Column("outbound_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("coupon_id", sa.Integer(), nullable=True),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_recipients_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_campaign_recipients_member_id_members")),
        sa.ForeignKeyConstraint(
            ["outbound_message_id"],
            ["outbound_messages.id"],
            name=op.f("fk_campaign_recipients_outbound_message_id_outbound_messages"),
        ),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"], name=op.f("fk_campaign_recipients_coupon_id_coupons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint("campaign_id", "member_id", name=op.f("uq_campaign_recipients_campaign_id_member_id")),
    )
    op.create_index(
        "ix_campaign_recipients_member_id_created_at", "campaign_recipients", ["member_id", "created_at"], unique=False
    )
    op.create_index(
        op.f("ix_campaign_recipients_outbound_message_id"),
        "campaign_recipients",
        ["outbound_message_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("campaign_recipients")
    op.drop_table("campaigns")
