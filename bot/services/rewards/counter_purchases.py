"""A purchase at the counter page: what it would earn before the clerk confirms it, and undoing it soon after.

The preview records nothing: it applies the same rules as `purchases.record_purchase` (points by the member's tier,
stamps per card within today's limit) to the member as they are now. The undo is a full refund of the purchase
(`refunds.record_refund`: points and per-amount stamps reversed, the tier re-evaluated), allowed for a short while
after the purchase and only at the store that recorded it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from bot.services.rewards.purchases import PurchaseResult, find_purchase, points_for
from bot.services.rewards.refunds import RefundRequest, record_refund
from bot.services.rewards.stamp_cards import active_templates, cards_for, earned_on, local_day
from bot.services.rewards.tiers import tier_of
from models import Member, StampCardTemplate

# As long as a coupon's redemption may be undone: the clerk notices a mistake while the shopper is still there.
UNDO_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class StampPreview:
    """The stamps one card would get: `stamps` now, `adding` (after today's limit), and how many fill it."""

    name: str
    stamps: int
    stamps_to_fill: int
    adding: int
    limited: bool


@dataclass(frozen=True)
class PurchasePreview:
    """What a purchase of `amount` would earn the member."""

    amount: int
    points: int
    stamps: list[StampPreview]


def _wanted(template: StampCardTemplate, amount: int) -> int:
    if template.rule == "per_visit":
        return 1
    if not template.amount_per_stamp or template.amount_per_stamp <= 0:
        return 0
    return amount // template.amount_per_stamp


def preview_purchase(session: Session, member: Member, amount: int, *, at: datetime, tz: tzinfo) -> PurchasePreview:
    """The points and stamps a purchase of `amount` would earn `member` at `at`, recording nothing."""
    points = points_for(amount, tier_of(session, member.tier))
    open_cards = {card.template_id: card for card in cards_for(session, member.id, at)}
    day = local_day(at, tz)
    stamps = []
    for template in active_templates(session):
        wanted = _wanted(template, amount)
        if wanted <= 0:
            continue
        allowed = wanted
        if template.daily_limit is not None:
            allowed = max(0, min(wanted, template.daily_limit - earned_on(session, member.id, template.id, day)))
        card = open_cards.get(template.id)
        stamps.append(
            StampPreview(
                name=template.name,
                stamps=card.stamps if card is not None else 0,
                stamps_to_fill=template.stamps_to_fill,
                adding=allowed,
                limited=allowed < wanted,
            )
        )
    return PurchasePreview(amount=amount, points=points, stamps=stamps)


def undo_purchase(session: Session, store_id: int, transaction_id: str, *, at: datetime, tz: tzinfo) -> PurchaseResult:
    """Undo a purchase this store recorded within `UNDO_WINDOW`: refund what is not refunded yet, reversing its
    points and stamps. Asking again answers the same undo (the refund id is derived from the transaction id).

    Refused: `purchase_not_found` (not this store's), `purchase_undo_window_passed`, `purchase_already_undone`
    (refunded, in part or in full, by another refund).
    """
    purchase = find_purchase(session, store_id, transaction_id)
    if purchase is None:
        raise Refused(Reason.PURCHASE_NOT_FOUND)
    refund_id = f"counter-undo:{transaction_id}"
    request = RefundRequest(transaction_id, refund_id, purchase.amount)
    if purchase.refunded_amount > 0:
        try:
            return record_refund(session, store_id, request, at=at, tz=tz)  # this undo again: the same answer
        except Refused as refused:
            if refused.reason in (Reason.REFUND_EXCEEDS_PURCHASE, Reason.IDEMPOTENCY_CONFLICT):
                raise Refused(Reason.PURCHASE_ALREADY_UNDONE) from None
            raise
    if at - purchase.created_at > UNDO_WINDOW:
        raise Refused(Reason.PURCHASE_UNDO_WINDOW_PASSED)
    return record_refund(session, store_id, request, at=at, tz=tz)
