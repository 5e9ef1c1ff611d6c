"""Membership tiers by rolling 12-month spend: what each tier needs and what it gives.

Upgrades happen at once (after the purchase that crosses the line). Downgrades are checked by a monthly job:
a member whose rolling 12-month spend has fallen below their tier's threshold moves down to the tier it still
meets, never more than one step per month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import facts
from models import Member, Purchase, TierChange


@dataclass(frozen=True)
class Tier:
    code: str
    label: str
    # Rolling 12-month spend (NT$) needed to be in this tier.
    threshold: int
    # Points earned per NT$ are multiplied by this.
    earn_multiplier: float
    # The coupon template code issued on the member's birthday (None: no birthday coupon).
    birthday_coupon: str | None


TIERS: tuple[Tier, ...] = (
    Tier("regular", "一般會員", 0, 1.0, None),
    Tier("silver", "銀卡會員", 10_000, 1.2, "BDAY-SILVER"),
    Tier("gold", "金卡會員", 30_000, 1.5, "BDAY-GOLD"),
)
TIERS_BY_CODE = {tier.code: tier for tier in TIERS}
# Points earned: one point per this many NT$, before the tier multiplier.
NTD_PER_POINT = 100


def tier_for_spend(rolling_spend: int) -> Tier:
    """The highest tier whose threshold this rolling 12-month spend meets."""
    return max((tier for tier in TIERS if rolling_spend >= tier.threshold), key=lambda tier: tier.threshold)


# Evaluation: the rolling spend, upgrades at once, the monthly downgrade.

ROLLING_DAYS = 365


def rolling_spend(session: Session, member_id: int, at: datetime) -> int:
    """NT$ the member spent in the 365 days up to `at`: purchases in that window, net of their refunds."""
    total = session.scalar(
        select(func.coalesce(func.sum(Purchase.amount - Purchase.refunded_amount), 0)).where(
            Purchase.member_id == member_id,
            Purchase.created_at > at - timedelta(days=ROLLING_DAYS),
            Purchase.created_at <= at,
        )
    )
    return int(total or 0)


def _rank(code: str) -> int:
    return next(i for i, tier in enumerate(TIERS) if tier.code == code)


def evaluate_tier(
    session: Session, member: Member, at: datetime, *, allow_downgrade: bool, reason: str = "purchase"
) -> TierChange | None:
    """Move the member to the tier their rolling spend earns: up at once (to the highest tier met), down one step
    only with `allow_downgrade`. Records and returns the TierChange, or None when the tier stays.

    A tier this module does not know (e.g. one kept from a POS import) is left alone.
    """
    if member.tier not in TIERS_BY_CODE:
        return None
    spend = rolling_spend(session, member.id, at)
    current, earned = _rank(member.tier), _rank(tier_for_spend(spend).code)
    if earned > current:
        to_tier = TIERS[earned]
    elif earned < current and allow_downgrade:
        to_tier = TIERS[current - 1]
    else:
        return None
    change = TierChange(
        member_id=member.id,
        from_tier=member.tier,
        to_tier=to_tier.code,
        rolling_spend=spend,
        reason=reason,
        created_at=at,
    )
    member.tier = to_tier.code
    session.add(change)
    session.flush()
    facts.record(session, facts.TierChanged(member.id, change.from_tier, change.to_tier, upgrade=earned > current))
    return change


def monthly_reason(at: datetime, tz: tzinfo) -> str:
    """The TierChange reason of the monthly review of the brand-local month of `at`."""
    return f"monthly {at.astimezone(tz):%Y-%m}"


def monthly_review(session: Session, at: datetime, tz: tzinfo) -> list[TierChange]:
    """The monthly tier review: every member above the lowest tier is evaluated with downgrades allowed.

    A member already moved by this month's review is skipped, so running it twice in a month steps nobody twice.
    """
    reason = monthly_reason(at, tz)
    reviewed = select(TierChange.member_id).where(TierChange.reason == reason)
    members = session.scalars(
        select(Member)
        .where(Member.tier != TIERS[0].code, Member.id.not_in(reviewed), Member.erased_at.is_(None))
        .order_by(Member.id)
    ).all()
    changes = [evaluate_tier(session, member, at, allow_downgrade=True, reason=reason) for member in members]
    return [change for change in changes if change is not None]
