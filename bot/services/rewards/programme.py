"""What the member programme offers right now, as told under 最新活動: the stamp-card campaigns running and what
each tier gives."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.services.rewards.coupon_rules import template_by_code
from bot.services.rewards.stamp_views import HowToEarn, how_to_earn
from bot.services.rewards.tiers import current_tiers


@dataclass(frozen=True)
class TierOffer:
    label: str
    threshold: int
    earn_multiplier: float
    birthday_gift: str | None


@dataclass(frozen=True)
class Programme:
    campaigns: list[HowToEarn]
    tiers: list[TierOffer]


def programme(session: Session) -> Programme:
    """The active stamp-card campaigns and the tiers with their thresholds, earn rates and birthday gifts."""
    tiers = []
    for tier in current_tiers(session):
        gift = template_by_code(session, tier.birthday_coupon) if tier.birthday_coupon else None
        tiers.append(TierOffer(tier.label, tier.threshold, tier.earn_multiplier, gift.name if gift else None))
    return Programme(campaigns=how_to_earn(session), tiers=tiers)
