"""Missions: tasks the brand sets (visit a store, spend, redeem a coupon, check in, invite a friend, answer a poll),
each member's progress per period, personal invite codes and the friends who claimed them, and poll answers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, TimestampMixin

MISSION_KINDS = ("visit_store", "spend", "redeem_coupon", "checkin", "invite", "poll")
REPEATS = ("none", "weekly")


class Mission(TimestampMixin, Base):
    """A mission the brand runs between two brand-local days, once or every week; one reward on completion."""

    __tablename__ = "missions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The mission's name in the configuration file: loading the file again updates the same mission.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    # The name in English (None: English speakers see `title` as the chat's catalogue translates it).
    title_en: Mapped[str | None] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(300))
    # visit_store | spend | redeem_coupon | checkin | invite | poll
    kind: Mapped[str] = mapped_column(String(16))
    # Visits, NT$ spent, coupons redeemed, check-in days, friends who joined, or 1 (a poll answered).
    target: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # none: one period from starts_on to ends_on; weekly: a new period every Monday (brand-local).
    repeat: Mapped[str] = mapped_column(String(8), default="none")
    # The reward: exactly one of points, a coupon of a template, or lucky-draw plays.
    reward_points: Mapped[int | None]
    reward_coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    reward_plays: Mapped[int | None]
    # redeem_coupon: only coupons of this template count (None: any coupon).
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    # poll: the question and its options.
    poll_question: Mapped[str | None] = mapped_column(String(200))
    poll_options: Mapped[list[str] | None] = mapped_column(JSONType)
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "kind IN ('visit_store', 'spend', 'redeem_coupon', 'checkin', 'invite', 'poll')", name="kind_known"
        ),
        CheckConstraint("repeat IN ('none', 'weekly')", name="repeat_known"),
        CheckConstraint("target > 0", name="target_positive"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint(
            "(CASE WHEN reward_points IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN reward_coupon_template_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN reward_plays IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_reward",
        ),
    )


class MissionProgress(TimestampMixin, Base):
    """A member's progress on a mission in one period; completed (and rewarded) at most once: the unique
    (mission, member, period) row is locked while it moves, and its completion is set once."""

    __tablename__ = "mission_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # The brand-local first day of the period (the mission's start, or the Monday of a weekly period).
    period_start: Mapped[date]
    value: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    reward_point_entry_id: Mapped[int | None] = mapped_column(ForeignKey("point_entries.id"))
    reward_coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))

    __table_args__ = (
        UniqueConstraint("mission_id", "member_id", "period_start", name="uq_mission_progress_period"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )


class InviteCode(TimestampMixin, Base):
    """A member's personal invite code; only friends who first follow the account after it was made can claim it."""

    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)


class InviteClaim(TimestampMixin, Base):
    """A new friend who sent a member's invite code: one inviter per LINE user; the inviter's mission counts the
    friend once they join."""

    __tablename__ = "invite_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    invite_code_id: Mapped[int] = mapped_column(ForeignKey("invite_codes.id"), index=True)
    inviter_member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    invitee_line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), unique=True)
    joined_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    joined_at: Mapped[datetime | None]


class PollAnswer(TimestampMixin, Base):
    """A member's answer to a poll mission: one per member and period."""

    __tablename__ = "poll_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    mission_id: Mapped[int] = mapped_column(ForeignKey("missions.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    period_start: Mapped[date]
    # The index of the chosen option in the mission's poll_options.
    option: Mapped[int]

    __table_args__ = (UniqueConstraint("mission_id", "member_id", "period_start", name="uq_poll_answers_once"),)
