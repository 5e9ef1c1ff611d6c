"""The daily check-in (簽到): once per brand-local day, a streak of consecutive days, streak freezes, milestone rewards.

* A day is the brand's calendar day (Settings.tz): 23:59 and 00:01 in Taipei are two days, whatever UTC says.
* The streak grows by one on the day after a check-in and starts again at 1 after a missed day, unless the member
  holds streak freezes: each covers one missed day (it keeps the streak; the missed day does not count in it). They
  are used only when they cover the whole gap.
* A milestone (`checkin_milestones`) gives its reward when the streak reaches its day: once per member, streak and
  milestone (a unique row), through the ledger, coupons or stamp cards.
* One check-in per member and day is a unique key: concurrent check-ins give one, the others see it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.engagement import missions
from bot.services.engagement.checkin_config import checkin_settings
from bot.services.refusals import Reason, Refused
from bot.services.rewards.coupons import issue_coupon
from bot.services.rewards.ledger import post_points
from bot.services.rewards.point_expiry import expiry_for
from bot.services.rewards.stamps import award_stamps
from models import (
    Checkin,
    CheckinMilestone,
    CheckinMilestoneAward,
    CouponTemplate,
    Member,
    StampCardTemplate,
    StreakFreezeEntry,
)

log = logging.getLogger(__name__)

MILESTONE_REASON = "連續簽到獎勵"


@dataclass(frozen=True)
class Reward:
    """What a milestone gives: `kind` points | coupon | stamp | freeze, with its amount and name (coupon, card)."""

    kind: str
    amount: int
    name: str | None = None


@dataclass(frozen=True)
class Milestone:
    day: int
    reward: Reward


@dataclass(frozen=True)
class WeekDay:
    day: date
    checked: bool
    frozen: bool
    is_today: bool


@dataclass(frozen=True)
class CheckinView:
    """A check-in's answer: whether it was new, the streak, this week's strip, rewards given now, what comes next."""

    checked_in_now: bool
    today: date
    streak: int
    week: list[WeekDay]
    rewards: list[Milestone]
    next_milestone: Milestone | None
    freezes_used: int
    freezes_left: int


def local_day(at: datetime, tz: tzinfo) -> date:
    """The brand-local calendar day of an instant."""
    return at.astimezone(tz).date()


def freeze_balance(session: Session, member_id: int) -> int:
    """The streak freezes a member holds."""
    total = session.scalar(
        select(func.coalesce(func.sum(StreakFreezeEntry.delta), 0)).where(StreakFreezeEntry.member_id == member_id)
    )
    return int(total or 0)


def grant_freezes(session: Session, member: Member, count: int, *, reason: str, key: str, at: datetime) -> bool:
    """Give a member `count` streak freezes, once per `key`; False when that key was used already."""
    if count <= 0:
        raise ValueError("count must be positive")
    try:
        with session.begin_nested():
            session.add(
                StreakFreezeEntry(member_id=member.id, delta=count, reason=reason, idempotency_key=key, created_at=at)
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def _checkin_on(session: Session, member_id: int, day: date) -> Checkin | None:
    return session.scalars(
        select(Checkin)
        .where(Checkin.member_id == member_id, Checkin.local_day == day)
        .execution_options(populate_existing=True)
    ).one_or_none()


def _previous(session: Session, member_id: int, day: date) -> Checkin | None:
    return session.scalars(
        select(Checkin)
        .where(Checkin.member_id == member_id, Checkin.local_day < day)
        .order_by(Checkin.local_day.desc())
        .limit(1)
    ).one_or_none()


def _reward_of(session: Session, milestone: CheckinMilestone) -> Reward:
    name = None
    if milestone.coupon_template_id is not None:
        name = session.get_one(CouponTemplate, milestone.coupon_template_id).name
    elif milestone.stamp_card_template_id is not None:
        name = session.get_one(StampCardTemplate, milestone.stamp_card_template_id).name
    return Reward(milestone.reward_kind, milestone.amount, name)


def milestones(session: Session) -> list[Milestone]:
    """The configured milestones, by day."""
    rows = session.scalars(select(CheckinMilestone).order_by(CheckinMilestone.day)).all()
    return [Milestone(row.day, _reward_of(session, row)) for row in rows]


def _give(session: Session, member: Member, row: CheckinMilestone, key: str, at: datetime, tz: tzinfo) -> int | None:
    """Issue one milestone's reward; the coupon's id when it is a coupon."""
    if row.reward_kind == "points":
        post_points(
            session,
            member.id,
            row.amount,
            kind="earn",
            reason=MILESTONE_REASON,
            channel="line_task",
            idempotency_key=key,
            at=at,
            expires_at=expiry_for(at, tz),
        )
    elif row.reward_kind == "coupon":
        template = session.get_one(CouponTemplate, row.coupon_template_id)
        coupon, _created = issue_coupon(session, member, template, source="checkin", source_key=key, at=at)
        return coupon.id
    elif row.reward_kind == "stamp":
        template_row = session.get_one(StampCardTemplate, row.stamp_card_template_id)
        award_stamps(
            session, member, template_row, row.amount, idempotency_key=key, reason=MILESTONE_REASON, at=at, tz=tz
        )
    else:
        grant_freezes(session, member, row.amount, reason=MILESTONE_REASON, key=key, at=at)
    return None


def _award(session: Session, member: Member, checkin: Checkin, at: datetime, tz: tzinfo) -> list[Milestone]:
    """The milestone the check-in's streak reached, given once (the award row's unique key decides)."""
    row = session.scalars(select(CheckinMilestone).where(CheckinMilestone.day == checkin.streak)).one_or_none()
    if row is None:
        return []
    key = f"checkin:{member.id}:{checkin.streak_started_on.isoformat()}:day{row.day}"
    try:
        with session.begin_nested():  # the award row's unique key decides; a second award rolls its reward back
            coupon_id = _give(session, member, row, key, at, tz)
            session.add(
                CheckinMilestoneAward(
                    member_id=member.id,
                    streak_started_on=checkin.streak_started_on,
                    milestone_day=row.day,
                    checkin_id=checkin.id,
                    reward_kind=row.reward_kind,
                    amount=row.amount,
                    coupon_id=coupon_id,
                    created_at=at,
                )
            )
            session.flush()
    except IntegrityError:
        return []  # given already
    except Refused as refusal:  # e.g. the coupon ran out: the check-in still counts
        log.warning("check-in milestone %s of member %s not given: %s", row.day, member.id, refusal.reason)
        return []
    return [Milestone(row.day, _reward_of(session, row))]


def _streak_for(session: Session, member: Member, day: date, at: datetime) -> tuple[int, date, int]:
    """(streak, the day it started, freezes used) for a check-in on `day`; uses the freezes that cover the gap."""
    previous = _previous(session, member.id, day)
    if previous is None:
        return 1, day, 0
    missed = (day - previous.local_day).days - 1
    if missed == 0:
        return previous.streak + 1, previous.streak_started_on, 0
    if missed > freeze_balance(session, member.id):
        return 1, day, 0
    for offset in range(1, missed + 1):
        covered = previous.local_day + timedelta(days=offset)
        session.add(
            StreakFreezeEntry(
                member_id=member.id,
                delta=-1,
                reason="補簽：保留連續簽到",
                idempotency_key=f"freeze-use:{member.id}:{covered.isoformat()}",
                created_at=at,
            )
        )
    return previous.streak + 1, previous.streak_started_on, missed


def check_in(session: Session, member: Member, at: datetime, tz: tzinfo) -> CheckinView:
    """Check the member in for today (brand-local): the streak, this week and any milestone reward given now.

    A second check-in on the same day changes nothing and answers the same view (`checked_in_now` False); this holds
    for concurrent check-ins too: the unique (member, day) key lets one through. Refused (GAME_NOT_RUNNING: no
    activity is running) while the brand has check-ins switched off.
    """
    if not checkin_settings(session).checkins_enabled:
        raise Refused(Reason.GAME_NOT_RUNNING)
    day = local_day(at, tz)
    today = _checkin_on(session, member.id, day)
    if today is not None:
        return view(session, member, at, tz, checked_in_now=False)
    # A member's check-ins take turns (the row lock), so two of them never read the same previous day.
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    rewards: list[Milestone] = []
    try:
        with session.begin_nested():
            streak, started, frozen = _streak_for(session, member, day, at)
            checkin = Checkin(
                member_id=member.id,
                local_day=day,
                streak=streak,
                streak_started_on=started,
                frozen_days=frozen,
                created_at=at,
            )
            session.add(checkin)
            session.flush()
    except IntegrityError:
        return view(session, member, at, tz, checked_in_now=False)
    rewards = _award(session, member, checkin, at, tz)
    missions.on_check_in(session, member, at, tz)
    log.info("member %s checked in, streak %s", member.id, streak)
    return view(session, member, at, tz, checked_in_now=True, rewards=rewards, freezes_used=frozen)


def current_streak(session: Session, member_id: int, day: date) -> int:
    """The streak that is alive on `day`: today's, or yesterday's while today's check-in is still to come."""
    latest = _previous(session, member_id, day + timedelta(days=1))
    if latest is None or (day - latest.local_day).days > 1:
        return 0
    return latest.streak


def view(
    session: Session,
    member: Member,
    at: datetime,
    tz: tzinfo,
    *,
    checked_in_now: bool,
    rewards: list[Milestone] | None = None,
    freezes_used: int = 0,
) -> CheckinView:
    """This week (Monday to Sunday) with the checked and frozen days, the streak and the next milestone."""
    day = local_day(at, tz)
    monday = day - timedelta(days=day.weekday())
    rows = session.scalars(
        select(Checkin).where(
            Checkin.member_id == member.id, Checkin.local_day >= monday - timedelta(days=7), Checkin.local_day <= day
        )
    ).all()
    checked = {row.local_day for row in rows}
    frozen = {row.local_day - timedelta(days=n) for row in rows for n in range(1, row.frozen_days + 1)}
    week = [WeekDay(d, d in checked, d in frozen, d == day) for d in (monday + timedelta(days=i) for i in range(7))]
    streak = current_streak(session, member.id, day)
    upcoming = [m for m in milestones(session) if m.day > streak]
    return CheckinView(
        checked_in_now=checked_in_now,
        today=day,
        streak=streak,
        week=week,
        rewards=rewards or [],
        next_milestone=upcoming[0] if upcoming else None,
        freezes_used=freezes_used,
        freezes_left=freeze_balance(session, member.id),
    )
