"""Missions: brand-defined tasks with progress per member and period, invite codes and claims, one-question polls
(issue 13)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _created_at() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "missions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("repeat", sa.String(length=8), nullable=False),
        sa.Column("reward_points", sa.Integer(), nullable=True),
        sa.Column("reward_coupon_template_id", sa.Integer(), nullable=True),
        sa.Column("reward_plays", sa.Integer(), nullable=True),
        sa.Column("coupon_template_id", sa.Integer(), nullable=True),
        sa.Column("poll_question", sa.String(length=200), nullable=True),
        sa.Column("poll_options", JSON, nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=True),
        _created_at(),
        sa.CheckConstraint(
            "kind IN ('visit_store', 'spend', 'redeem_coupon', 'checkin', 'invite', 'poll')",
            name=op.f("ck_missions_kind_known"),
        ),
        sa.CheckConstraint("repeat IN ('none', 'weekly')", name=op.f("ck_missions_repeat_known")),
        sa.CheckConstraint("target > 0", name=op.f("ck_missions_target_positive")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_missions_ends_after_start")),
        sa.CheckConstraint(
            "(CASE WHEN reward_points IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN reward_coupon_template_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN reward_plays IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_missions_one_reward"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_missions_coupon_template_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_missions_reward_coupon_template_id_coupon_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missions")),
        sa.UniqueConstraint("code", name=op.f("uq_missions_code")),
    )
    op.create_table(
        "mission_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reward_point_entry_id", sa.Integer(), nullable=True),
        sa.Column("reward_coupon_id", sa.Integer(), nullable=True),
        _created_at(),
        sa.CheckConstraint("value >= 0", name=op.f("ck_mission_progress_value_not_negative")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_mission_progress_member_id_members")),
        sa.ForeignKeyConstraint(["mission_id"], ["missions.id"], name=op.f("fk_mission_progress_mission_id_missions")),
        sa.ForeignKeyConstraint(
            ["reward_coupon_id"], ["coupons.id"], name=op.f("fk_mission_progress_reward_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["reward_point_entry_id"],
            ["point_entries.id"],
            name=op.f("fk_mission_progress_reward_point_entry_id_point_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mission_progress")),
        sa.UniqueConstraint("mission_id", "member_id", "period_start", name="uq_mission_progress_period"),
    )
    op.create_index(op.f("ix_mission_progress_member_id"), "mission_progress", ["member_id"], unique=False)
    op.create_index(op.f("ix_mission_progress_mission_id"), "mission_progress", ["mission_id"], unique=False)
    op.create_table(
        "invite_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_invite_codes_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_invite_codes_code")),
        sa.UniqueConstraint("member_id", name=op.f("uq_invite_codes_member_id")),
    )
    op.create_table(
        "invite_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invite_code_id", sa.Integer(), nullable=False),
        sa.Column("inviter_member_id", sa.Integer(), nullable=False),
        sa.Column("invitee_line_user_id", sa.Integer(), nullable=False),
        sa.Column("joined_member_id", sa.Integer(), nullable=True),
        sa.Column("joined_at", models.base.UTCDateTime(timezone=True), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["invite_code_id"], ["invite_codes.id"], name=op.f("fk_invite_claims_invite_code_id_invite_codes")
        ),
        sa.ForeignKeyConstraint(
            ["invitee_line_user_id"],
            ["line_users.id"],
            name=op.f("fk_invite_claims_invitee_line_user_id_line_users"),
        ),
        sa.ForeignKeyConstraint(
            ["inviter_member_id"], ["members.id"], name=op.f("fk_invite_claims_inviter_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["joined_member_id"], ["members.id"], name=op.f("fk_invite_claims_joined_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_claims")),
        sa.UniqueConstraint("invitee_line_user_id", name=op.f("uq_invite_claims_invitee_line_user_id")),
        sa.UniqueConstraint("joined_member_id", name=op.f("uq_invite_claims_joined_member_id")),
    )
    op.create_index(op.f("ix_invite_claims_invite_code_id"), "invite_claims", ["invite_code_id"], unique=False)
    op.create_index(op.f("ix_invite_claims_inviter_member_id"), "invite_claims", ["inviter_member_id"], unique=False)
    op.create_table(
        "poll_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("option", sa.Integer(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_poll_answers_member_id_members")),
        sa.ForeignKeyConstraint(["mission_id"], ["missions.id"], name=op.f("fk_poll_answers_mission_id_missions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_answers")),
        sa.UniqueConstraint("mission_id", "member_id", "period_start", name="uq_poll_answers_once"),
    )
    op.create_index(op.f("ix_poll_answers_member_id"), "poll_answers", ["member_id"], unique=False)
    op.create_index(op.f("ix_poll_answers_mission_id"), "poll_answers", ["mission_id"], unique=False)


def downgrade() -> None:
    op.drop_table("poll_answers")
    op.drop_table("invite_claims")
    op.drop_table("invite_codes")
    op.drop_table("mission_progress")
    op.drop_table("missions")
