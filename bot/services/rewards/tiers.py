"""Membership tiers by rolling 12-month spend: what each tier needs and what it gives.

The tiers themselves (codes, labels, order) are fixed; what each needs and gives is a setting the marketer edits
(bot/services/rewards/tier_settings.py), read through `current_tiers` only. It is read once per transaction (one
unit of work) and never reused after it, so a change applies from the next request on.

Upgrades happen at once (after the purchase that crosses the line). Downgrades are checked by a monthly job:
a member whose rolling 12-month spend has fallen below their tier's threshold moves down to the tier it still
meets, never more than one step per month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot.services import facts
from models import Member, Purchase, TierChange, TierSetting, TierSettingsVersion
from models.settings import TIER_CODES as TIER_CODES


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


TIER_LABELS = {"regular": "一般會員", "silver": "銀卡會員", "gold": "金卡會員"}


class TierName(NamedTuple):
    code: str
    label: str


# The tiers by name only, lowest first (what they need and give: `current_tiers`).
TIERS: tuple[TierName, ...] = tuple(TierName(code, TIER_LABELS[code]) for code in TIER_CODES)
# What the programme shipped with: migration 0024 seeds these as version 1 of the tier settings, and they hold
# while no version is stored.
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("regular", TIER_LABELS["regular"], 0, 1.0, None),
    Tier("silver", TIER_LABELS["silver"], 10_000, 1.2, "BDAY-SILVER"),
    Tier("gold", TIER_LABELS["gold"], 30_000, 1.5, "BDAY-GOLD"),
)
# Points earned: one point per this many NT$, before the tier multiplier.
NTD_PER_POINT = 100
_CACHE_KEY = "omo.current_tiers"


# Statements built once: every purchase reads the tier table and the member's rolling spend.
_NEWEST_TIERS = select(
    TierSetting.code, TierSetting.threshold, TierSetting.earn_multiplier_pct, TierSetting.birthday_coupon
).where(
    TierSetting.version_id
    == select(TierSettingsVersion.id).order_by(TierSettingsVersion.version.desc()).limit(1).scalar_subquery()
)
_SPEND_BETWEEN = select(func.coalesce(func.sum(Purchase.amount - Purchase.refunded_amount), 0)).where(
    Purchase.member_id == bindparam("member_id"),
    Purchase.created_at > bindparam("since"),
    Purchase.created_at <= bindparam("until"),
)


def current_tiers(session: Session) -> tuple[Tier, ...]:
    """The tier table in force (the newest saved version), lowest tier first; read once per transaction."""
    cached = session.info.get(_CACHE_KEY)
    if cached is not None and cached[0] is session.get_transaction():
        return cached[1]  # type: ignore[no-any-return]
    rows = session.execute(_NEWEST_TIERS).all()
    tiers = (
        tuple(
            Tier(row.code, TIER_LABELS[row.code], row.threshold, row.earn_multiplier_pct / 100, row.birthday_coupon)
            for row in sorted(rows, key=lambda row: TIER_CODES.index(row.code))
        )
        if rows
        else DEFAULT_TIERS
    )
    transaction = session.get_transaction()
    if transaction is not None:
        session.info[_CACHE_KEY] = (transaction, tiers)
    return tiers


def forget_current_tiers(session: Session) -> None:
    """Drop the tier table read in this transaction (after saving a new version in it)."""
    session.info.pop(_CACHE_KEY, None)


def tiers_by_code(session: Session) -> dict[str, Tier]:
    """The tier table in force, by tier code."""
    return {tier.code: tier for tier in current_tiers(session)}


def tier_of(session: Session, code: str) -> Tier:
    """The tier a member with this tier code is in; the lowest for a code the table does not know (an import's)."""
    tiers = current_tiers(session)
    return next((tier for tier in tiers if tier.code == code), tiers[0])


def tier_for_spend(tiers: tuple[Tier, ...], rolling_spend: int) -> Tier:
    """The highest tier whose threshold this rolling 12-month spend meets."""
    return max((tier for tier in tiers if rolling_spend >= tier.threshold), key=lambda tier: tier.threshold)


# Evaluation: the rolling spend, upgrades at once, the monthly downgrade.

ROLLING_DAYS = 365


def rolling_spend(session: Session, member_id: int, at: datetime) -> int:
    """NT$ the member spent in the 365 days up to `at`: purchases in that window, net of their refunds."""
    window = {"member_id": member_id, "since": at - timedelta(days=ROLLING_DAYS), "until": at}
    total = session.scalar(_SPEND_BETWEEN, window)
    return int(total or 0)


def _rank(tiers: tuple[Tier, ...], code: str) -> int:
    return next(i for i, tier in enumerate(tiers) if tier.code == code)


def evaluate_tier(
    session: Session, member: Member, at: datetime, *, allow_downgrade: bool, reason: str = "purchase"
) -> TierChange | None:
    """Move the member to the tier their rolling spend earns: up at once (to the highest tier met), down one step
    only with `allow_downgrade`. Records and returns the TierChange, or None when the tier stays.

    A tier this module does not know (e.g. one kept from a POS import) is left alone.
    """
    tiers = current_tiers(session)
    if member.tier not in TIER_CODES:
        return None
    current = _rank(tiers, member.tier)
    if current == len(tiers) - 1 and not allow_downgrade:
        return None  # nowhere to go: a top-tier member's purchase spares the sum of their year
    spend = rolling_spend(session, member.id, at)
    earned = _rank(tiers, tier_for_spend(tiers, spend).code)
    if earned > current:
        to_tier = tiers[earned]
    elif earned < current and allow_downgrade:
        to_tier = tiers[current - 1]
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
        .where(Member.tier != TIER_CODES[0], Member.id.not_in(reviewed), Member.erased_at.is_(None))
        .order_by(Member.id)
    ).all()
    changes = [evaluate_tier(session, member, at, allow_downgrade=True, reason=reason) for member in members]
    return [change for change in changes if change is not None]
