"""Membership tiers by rolling 12-month spend: what each tier needs and what it gives.

Upgrades happen at once (after the purchase that crosses the line). Downgrades are checked by a monthly job:
a member whose rolling 12-month spend has fallen below their tier's threshold moves down to the tier it still
meets, never more than one step per month.
"""

from __future__ import annotations

from dataclasses import dataclass


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
