"""Points expire at the end of the year after they were earned (brand-local calendar), oldest first.

What is due at an instant is worked out from the ledger alone (FIFO: debits use the soonest-expiring points first):

    due = max(0, Σ credits that expired by then − Σ debits so far), capped at the balance

where a credit counts net of the reversals that name it (a refund takes back those very points), and the debits
are every other negative entry (spends, earlier expiries, corrections). Expiring posts one `expire` entry keyed
`expire:{member_id}:{date}`, so running the job twice changes nothing. A reminder goes to bound LINE users 30 days
before, once per member and expiry date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.membership.members import points_balance
from bot.services.rewards.ledger import post_points
from models import LineUser, Member, MemberBalance, PointEntry
from models.reminders import PointExpiryReminder

log = logging.getLogger(__name__)

REMIND_DAYS_BEFORE = 30
EXPIRED_REASON = "點數到期"


@dataclass(frozen=True)
class _Due:
    points: int
    # The latest expiry instant among the credits counted.
    last_expiry: datetime | None


def expiry_for(earned_at: datetime, tz: tzinfo) -> datetime:
    """When points earned at `earned_at` expire: the last second of December 31 of the following year, in `tz`."""
    year = earned_at.astimezone(tz).year + 1
    return datetime(year, 12, 31, 23, 59, 59, tzinfo=tz)


def _due(session: Session, member_id: int, at: datetime) -> _Due:
    credits = session.execute(
        select(PointEntry.id, PointEntry.points, PointEntry.expires_at).where(
            PointEntry.member_id == member_id, PointEntry.points > 0, PointEntry.expires_at <= at
        )
    ).all()
    if not credits:
        return _Due(0, None)
    ids = [row.id for row in credits]
    reversed_ = dict(
        session.execute(
            select(PointEntry.reverses_entry_id, func.sum(PointEntry.points))
            .where(PointEntry.member_id == member_id, PointEntry.reverses_entry_id.in_(ids))
            .group_by(PointEntry.reverses_entry_id)
        ).all()
    )
    expired = sum(max(0, row.points + int(reversed_.get(row.id) or 0)) for row in credits)
    debits = -int(
        session.scalar(
            select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                PointEntry.member_id == member_id, PointEntry.points < 0, PointEntry.reverses_entry_id.is_(None)
            )
        )
        or 0
    )
    last = max(row.expires_at for row in credits if row.expires_at is not None)
    return _Due(max(0, min(expired - debits, points_balance(session, member_id))), last)


def points_expiring(session: Session, member_id: int, before: datetime) -> int:
    """How many of the member's points will have expired by `before` if nothing else changes."""
    return _due(session, member_id, before).points


def expire_points(session: Session, member_id: int, at: datetime) -> PointEntry | None:
    """Post the `expire` entry for whatever is due at `at` (None when nothing is); running it again is a no-op."""
    # Take the balance row first, so a concurrent spend waits rather than racing the amount worked out here.
    session.execute(select(MemberBalance.points).where(MemberBalance.member_id == member_id).with_for_update())
    due = _due(session, member_id, at)
    if due.points <= 0 or due.last_expiry is None:
        return None
    key_day = due.last_expiry.astimezone(UTC).date()
    entry, _created = post_points(
        session,
        member_id,
        -due.points,
        kind="expire",
        reason=EXPIRED_REASON,
        channel="system",
        idempotency_key=f"expire:{member_id}:{key_day.isoformat()}",
        at=at,
    )
    return entry


def members_with_points_due(session: Session, at: datetime) -> list[int]:
    """Members holding earned points whose expiry has passed (some may already have been expired)."""
    return list(
        session.scalars(
            select(PointEntry.member_id)
            .join(MemberBalance, MemberBalance.member_id == PointEntry.member_id)
            .where(PointEntry.points > 0, PointEntry.expires_at <= at, MemberBalance.points > 0)
            .distinct()
            .order_by(PointEntry.member_id)
        )
    )


def remind_expiring_points(session: Session, now: datetime, tz: tzinfo) -> int:
    """Tell bound, unblocked members whose points expire within 30 days how many and when (`PointsExpiring`).

    Each member hears it once per expiry date, however often the job runs.
    """
    horizon = now + timedelta(days=REMIND_DAYS_BEFORE)
    upcoming = session.execute(
        select(PointEntry.member_id, func.min(PointEntry.expires_at))
        .join(Member, Member.id == PointEntry.member_id)
        .join(LineUser, LineUser.id == Member.line_user_id)
        .where(PointEntry.points > 0, PointEntry.expires_at > now, PointEntry.expires_at <= horizon)
        .where(Member.erased_at.is_(None), LineUser.is_blocked.is_(False))
        .group_by(PointEntry.member_id)
    ).all()
    reminded = 0
    for member_id, expires_at in upcoming:
        if expires_at is None:
            continue
        expires_on = expires_at.astimezone(tz).date()
        points = points_expiring(session, member_id, expires_at)
        already = session.scalar(
            select(PointExpiryReminder.id).where(
                PointExpiryReminder.member_id == member_id, PointExpiryReminder.expires_on == expires_on
            )
        )
        if points <= 0 or already is not None:
            continue
        session.add(PointExpiryReminder(member_id=member_id, expires_on=expires_on, points=points, created_at=now))
        facts.record(session, facts.PointsExpiring(member_id, points, expires_on))
        reminded += 1
    return reminded
