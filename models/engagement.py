"""Engagement: daily check-ins and their streaks, lucky draws and scratch cards, and the configuration the brand
loads from YAML (`omo engagement load`) into these tables so a console can edit it later.

Every effect that gives something away is an append-only row behind a unique key: one check-in per member and
brand-local day, one award per member, streak and milestone, one play per member, game, day and play number. The
prize stock and the daily budget are counters moved by conditional UPDATEs, with CHECKs behind them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin

REWARD_KINDS = ("points", "coupon", "stamp", "freeze", "nothing")
GAME_KINDS = ("draw", "scratch")


class CheckinSettings(Base):
    """The brand's check-in settings: one row (id 1)."""

    __tablename__ = "checkin_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The brand-local time of the evening reminder ("HH:MM"), kept between 09:00 and 22:00 by the loader.
    reminder_time: Mapped[str] = mapped_column(String(5), default="20:00")
    reminders_enabled: Mapped[bool] = mapped_column(default=True)
    # Off: 簽到 answers that no activity is running, and no reminders go out.
    checkins_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())


class CheckinMilestone(Base):
    """What reaching a streak of `day` consecutive days gives: points, a coupon, a stamp or a streak freeze."""

    __tablename__ = "checkin_milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[int] = mapped_column(unique=True)
    # points | coupon | stamp | freeze
    reward_kind: Mapped[str] = mapped_column(String(16))
    # Points, or the number of stamps or freezes.
    amount: Mapped[int] = mapped_column(default=0)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    stamp_card_template_id: Mapped[int | None] = mapped_column(ForeignKey("stamp_card_templates.id"))

    __table_args__ = (
        CheckConstraint("day > 0", name="day_positive"),
        CheckConstraint("reward_kind IN ('points', 'coupon', 'stamp', 'freeze')", name="reward_kind_known"),
    )


class Checkin(TimestampMixin, Base):
    """A member's check-in on one brand-local day. Never updated or deleted."""

    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    local_day: Mapped[date]
    # The streak this check-in made (1 on a first day or after a missed day) and the day that streak began.
    streak: Mapped[int]
    streak_started_on: Mapped[date]
    # Missed days between the previous check-in and this one that streak freezes covered.
    frozen_days: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("member_id", "local_day", name="uq_checkins_member_id_local_day"),
        CheckConstraint("streak > 0", name="streak_positive"),
    )


class CheckinMilestoneAward(TimestampMixin, Base):
    """A milestone reward given: once per member, streak and milestone day, whatever the retries or races."""

    __tablename__ = "checkin_milestone_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    streak_started_on: Mapped[date]
    milestone_day: Mapped[int]
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkins.id"))
    reward_kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(default=0)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))

    __table_args__ = (
        UniqueConstraint(
            "member_id",
            "streak_started_on",
            "milestone_day",
            name="uq_checkin_milestone_awards_member_id_streak_started_on",
        ),
    )


class StreakFreezeEntry(TimestampMixin, Base):
    """Streak freezes: a grant (+n, by the brand or a milestone) or a use (-1 per missed day covered). The balance
    is their sum; a use is keyed by the member and the day it covers, a grant by its idempotency key."""

    __tablename__ = "streak_freeze_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)

    __table_args__ = (CheckConstraint("delta <> 0", name="delta_not_zero"),)


class CheckinReminderPreference(TimestampMixin, Base):
    """A member who asked (「簽到提醒 開」) for the evening reminder; `enabled` False once they turn it off."""

    __tablename__ = "checkin_reminder_preferences"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)


class CheckinReminder(TimestampMixin, Base):
    """An evening reminder sent: at most one per member and brand-local day."""

    __tablename__ = "checkin_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    local_day: Mapped[date]
    streak: Mapped[int]

    __table_args__ = (UniqueConstraint("member_id", "local_day", name="uq_checkin_reminders_member_id_local_day"),)


class Game(TimestampMixin, Base):
    """A lucky draw (`draw`, 抽獎 in the chat) or a scratch card (`scratch`, 刮刮樂): its prize table, the free plays
    a member gets each brand-local day and the most prizes it gives away in one day."""

    __tablename__ = "games"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # draw | scratch
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    free_plays_per_day: Mapped[int] = mapped_column(default=1)
    # Prizes (other than "no prize") given per brand-local day at most; None: no budget.
    daily_budget: Mapped[int | None]
    # When the prize drawn is out of stock or over budget: "nothing" (no prize) or "next" (the next prize down).
    when_unavailable: Mapped[str] = mapped_column(String(16), default="nothing")
    is_active: Mapped[bool] = mapped_column(default=True)
    # The brand-local days it runs, both included (None: from always / until switched off).
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint("kind IN ('draw', 'scratch')", name="kind_known"),
        CheckConstraint("starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on", name="dates_in_order"),
        CheckConstraint("when_unavailable IN ('nothing', 'next')", name="when_unavailable_known"),
        CheckConstraint("free_plays_per_day >= 0", name="free_plays_not_negative"),
    )


class GamePrize(Base):
    """One line of a game's prize table: its chance (parts per million), stock and what it gives."""

    __tablename__ = "game_prizes"

    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    chance_ppm: Mapped[int]
    # points | coupon
    reward_kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(default=0)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    # None: unlimited. `awarded_count` moves with a conditional UPDATE, so the stock holds under concurrency.
    stock: Mapped[int | None]
    awarded_count: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        UniqueConstraint("game_id", "code", name="uq_game_prizes_game_id_code"),
        CheckConstraint("chance_ppm >= 0 AND chance_ppm <= 1000000", name="chance_in_range"),
        CheckConstraint("reward_kind IN ('points', 'coupon')", name="reward_kind_known"),
        CheckConstraint("stock IS NULL OR awarded_count <= stock", name="within_stock"),
    )


class GameDayCount(Base):
    """Prizes a game gave on one brand-local day, against its daily budget."""

    __tablename__ = "game_day_counts"

    game_id: Mapped[int] = mapped_column(ForeignKey("games.id"), primary_key=True)
    local_day: Mapped[date] = mapped_column(primary_key=True)
    awarded: Mapped[int] = mapped_column(default=0)


class GamePlay(TimestampMixin, Base):
    """One play, decided and recorded by the server before the member sees it. Never updated but for `revealed_at`
    (a scratch card's first opening)."""

    __tablename__ = "game_plays"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id"))
    # draw | scratch: the quota a play comes from
    game_kind: Mapped[str] = mapped_column(String(16))
    local_day: Mapped[date]
    # 1, 2, … within the member's plays of this kind on this day.
    play_number: Mapped[int]
    # free (today's free plays) | extra (granted plays)
    source: Mapped[str] = mapped_column(String(16))
    prize_id: Mapped[int | None] = mapped_column(ForeignKey("game_prizes.id"))
    # What the random roll picked, before stock and budget (None: no prize).
    rolled_prize_id: Mapped[int | None] = mapped_column(ForeignKey("game_prizes.id"))
    points: Mapped[int] = mapped_column(default=0)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    revealed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint(
            "member_id", "game_kind", "local_day", "play_number", name="uq_game_plays_member_id_kind_day_number"
        ),
        CheckConstraint("source IN ('free', 'extra')", name="source_known"),
    )


class GamePlayGrant(TimestampMixin, Base):
    """Extra plays granted to a member (by a mission, the brand): used after the day's free plays, never expire."""

    __tablename__ = "game_play_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    game_kind: Mapped[str] = mapped_column(String(16))
    plays: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)

    __table_args__ = (CheckConstraint("plays > 0", name="plays_positive"),)
