"""What a member sees of their points: the balance, their tier and what the next one needs, the latest entries and
the points about to expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.membership.members import points_balance
from bot.services.rewards.point_expiry import REMIND_DAYS_BEFORE, points_expiring
from bot.services.rewards.tiers import current_tiers, rolling_spend
from models import Member, PointEntry

LATEST = 5


@dataclass(frozen=True)
class EntryLine:
    day: date
    reason: str
    points: int


@dataclass(frozen=True)
class PointsView:
    balance: int
    tier_label: str
    # The next tier's label and the spend it still needs; None at the top (or for a tier the table does not know).
    next_tier: tuple[str, int] | None
    at_top: bool
    latest: list[EntryLine]
    # Points expiring within the reminder horizon and the first day they go; None when nothing expires soon.
    expiring: tuple[int, date] | None


def points_view(session: Session, member: Member, at: datetime, tz: tzinfo) -> PointsView:
    """The member's points as the chat shows them, at `at` (brand-local days in `tz`)."""
    tiers = current_tiers(session)
    tier = next((t for t in tiers if t.code == member.tier), None)
    next_tier: tuple[str, int] | None = None
    higher = [t for t in tiers if tier is not None and t.threshold > tier.threshold]
    if higher:
        target = min(higher, key=lambda t: t.threshold)
        next_tier = (target.label, max(0, target.threshold - rolling_spend(session, member.id, at)))
    latest = session.scalars(
        select(PointEntry)
        .where(PointEntry.member_id == member.id)
        .order_by(PointEntry.created_at.desc(), PointEntry.id.desc())
        .limit(LATEST)
    ).all()
    return PointsView(
        balance=points_balance(session, member.id),
        tier_label=tier.label if tier else member.tier,
        next_tier=next_tier,
        at_top=tier is not None and not higher,
        latest=[EntryLine(e.created_at.astimezone(tz).date(), e.reason, e.points) for e in latest],
        expiring=_expiring(session, member.id, at, tz),
    )


def _expiring(session: Session, member_id: int, at: datetime, tz: tzinfo) -> tuple[int, date] | None:
    horizon = at + timedelta(days=REMIND_DAYS_BEFORE)
    points = points_expiring(session, member_id, horizon)
    if points <= 0:
        return None
    first = session.scalar(
        select(func.min(PointEntry.expires_at)).where(
            PointEntry.member_id == member_id, PointEntry.points > 0, PointEntry.expires_at > at
        )
    )
    return points, (first if first is not None else horizon).astimezone(tz).date()
