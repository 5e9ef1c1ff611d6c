"""The programme dashboard: members and LINE-bound members week by week, binding rates by home store and by referring
clerk, active members, stamps, coupons and task engagement.

Weeks are brand-local (Monday 00:00 to Monday 00:00 in Settings.tz); the last of the WEEKS weeks is the current one,
counted up to now. Each weekly series is one grouped query: a CASE puts every row of the period into its week, so
the database counts and nothing loops over members in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import (
    BindingAudit,
    Checkin,
    Coupon,
    GamePlay,
    Member,
    MissionProgress,
    Purchase,
    ReferralAttribution,
    Staff,
    StampCard,
    StampEntry,
    Store,
)

WEEKS = 12
# A member is active when they bought something in the last ACTIVE_DAYS brand-local days (today included).
ACTIVE_DAYS = 30


@dataclass
class Week:
    """One brand-local week: members and bound members at its end (now, for the current week) and what happened in
    it."""

    starts_on: date
    members: int = 0
    bound: int = 0
    new_members: int = 0
    new_binds: int = 0
    stamps_added: int = 0
    cards_filled: int = 0
    coupons_issued: int = 0
    coupons_redeemed: int = 0
    checkins: int = 0
    game_plays: int = 0
    missions_completed: int = 0


@dataclass(frozen=True)
class BindingRate:
    """Members (not erased) of a home store or credited to a clerk, and how many of them are bound to LINE."""

    label: str
    detail: str
    members: int
    bound: int

    @property
    def rate(self) -> float | None:
        return self.bound / self.members if self.members else None


@dataclass(frozen=True)
class Dashboard:
    at: datetime
    weeks: list[Week]
    stores: list[BindingRate]
    clerks: list[BindingRate]
    members: int
    bound: int
    active: int
    active_since: date
    totals: Week = field(default_factory=lambda: Week(date.min))

    @property
    def active_share(self) -> float | None:
        return self.active / self.members if self.members else None


def week_starts(at: datetime, tz: tzinfo, weeks: int = WEEKS) -> list[date]:
    """The Mondays (brand-local) of the last `weeks` weeks, oldest first, the current week last."""
    today = at.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def _weekly(
    session: Session,
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    bounds: list[datetime],
    *where: ColumnElement[bool],
    amount: InstrumentedAttribute[int] | None = None,
) -> list[int]:
    """Rows (or the sum of `amount`) per week whose `column` falls in it; `bounds` are the weeks' starts and the
    end of the last."""
    week = case(*[(column < bound, index) for index, bound in enumerate(bounds[1:])])
    counted = func.sum(amount) if amount is not None else func.count()
    rows = session.execute(select(week, counted).where(column >= bounds[0], column < bounds[-1], *where).group_by(week))
    found = [0] * (len(bounds) - 1)
    for index, n in rows:
        found[int(index)] = int(n or 0)
    return found


def _counted_before(session: Session, column: InstrumentedAttribute[datetime | None], at: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(Member).where(column < at)) or 0)


def _binding_rates_by_store(session: Session) -> list[BindingRate]:
    rows = session.execute(
        select(Store.name, Store.code, func.count(Member.id), func.count(Member.line_user_id))
        .select_from(Member)
        .outerjoin(Store, Store.id == Member.home_store_id)
        .where(Member.erased_at.is_(None))
        .group_by(Store.id, Store.name, Store.code)
        .order_by(func.count(Member.id).desc(), Store.code)
    )
    return [BindingRate(name or "", code or "", int(n), int(bound)) for name, code, n, bound in rows]


def _binding_rates_by_clerk(session: Session) -> list[BindingRate]:
    # The clerk a member is credited to: their referral attribution, else the clerk recorded on the member.
    credited = func.coalesce(ReferralAttribution.staff_id, Member.referred_by_staff_id)
    per_clerk = (
        select(credited.label("staff_id"), func.count(Member.id).label("n"), func.count(Member.line_user_id).label("b"))
        .select_from(Member)
        .outerjoin(ReferralAttribution, ReferralAttribution.member_id == Member.id)
        .where(Member.erased_at.is_(None), credited.is_not(None))
        .group_by(credited)
        .subquery()
    )
    rows = session.execute(
        select(Staff.name, Staff.code, Store.name, per_clerk.c.n, per_clerk.c.b)
        .join(Staff, Staff.id == per_clerk.c.staff_id)
        .outerjoin(Store, Store.id == Staff.store_id)
        .order_by(per_clerk.c.n.desc(), Staff.code)
    )
    return [
        BindingRate(name, f"{code}{'・' + store if store else ''}", int(n), int(bound))
        for name, code, store, n, bound in rows
    ]


def programme_dashboard(session: Session, at: datetime, tz: tzinfo, weeks: int = WEEKS) -> Dashboard:
    """The dashboard at `at`: WEEKS brand-local weeks of members, bound members and activity, the binding rates by
    home store and by credited clerk (members not erased), and the members active in the last ACTIVE_DAYS days.

    Bound members at the end of a past week are today's bound members less the binds and plus the unbinds recorded
    since (binding_audit), so the series ends at today's figure whatever happened before the audit began."""
    starts = week_starts(at, tz, weeks)
    bounds = [_midnight(day, tz) for day in starts] + [_midnight(starts[-1] + timedelta(weeks=1), tz)]
    rows = [Week(day) for day in starts]

    members_now = int(session.scalar(select(func.count()).where(Member.erased_at.is_(None))) or 0)
    bound_now = int(
        session.scalar(select(func.count()).where(Member.erased_at.is_(None), Member.line_user_id.is_not(None))) or 0
    )
    joined = _weekly(session, Member.created_at, bounds)
    erased = _weekly(session, Member.erased_at, bounds)
    binds = _weekly(session, BindingAudit.created_at, bounds, BindingAudit.action == "bind")
    unbinds = _weekly(session, BindingAudit.created_at, bounds, BindingAudit.action == "unbind")
    members = _counted_before(session, Member.created_at, bounds[0]) - _counted_before(
        session, Member.erased_at, bounds[0]
    )
    for index, row in enumerate(rows):
        members += joined[index] - erased[index]
        row.members, row.new_members, row.new_binds = members, joined[index], binds[index]
    bound = bound_now
    for index in reversed(range(len(rows))):
        rows[index].bound = bound
        bound -= binds[index] - unbinds[index]

    series: dict[str, list[int]] = {
        "stamps_added": _weekly(
            session, StampEntry.created_at, bounds, StampEntry.stamps > 0, amount=StampEntry.stamps
        ),
        "cards_filled": _weekly(session, StampCard.filled_at, bounds),
        "coupons_issued": _weekly(session, Coupon.created_at, bounds),
        "coupons_redeemed": _weekly(session, Coupon.redeemed_at, bounds),
        "checkins": _weekly(session, Checkin.created_at, bounds),
        "game_plays": _weekly(session, GamePlay.created_at, bounds),
        "missions_completed": _weekly(session, MissionProgress.completed_at, bounds),
    }
    totals = Week(starts[0], members=rows[-1].members, bound=rows[-1].bound)
    totals.new_members, totals.new_binds = sum(joined), sum(binds)
    for name, values in series.items():
        for row, value in zip(rows, values, strict=True):
            setattr(row, name, value)
        setattr(totals, name, sum(values))

    active_since = at.astimezone(tz).date() - timedelta(days=ACTIVE_DAYS - 1)
    active = session.scalar(
        select(func.count(func.distinct(Purchase.member_id)))
        .join(Member, Member.id == Purchase.member_id)
        .where(
            Member.erased_at.is_(None),
            Purchase.created_at >= _midnight(active_since, tz),
            Purchase.created_at <= at,
            or_(Purchase.refunded_amount < Purchase.amount, Purchase.amount == 0),
        )
    )
    return Dashboard(
        at=at,
        weeks=rows,
        stores=_binding_rates_by_store(session),
        clerks=_binding_rates_by_clerk(session),
        members=members_now,
        bound=bound_now,
        active=int(active or 0),
        active_since=active_since,
        totals=totals,
    )
