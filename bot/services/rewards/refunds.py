"""Refunds: take back, in proportion, what a purchase earned; recorded once per (purchase, refund id).

Points are reversed in proportion to the amount refunded, rounded so that all the refunds of a purchase together
never take back more than it earned (a full refund takes back exactly what it earned). Points the member has
already spent cannot be taken back, because a balance never goes negative: the refund reverses what the balance
still holds and reports the rest as `points_shortfall` (for the store to settle, e.g. by reducing the refund).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.services.engagement import missions
from bot.services.membership.members import points_balance
from bot.services.refusals import Reason, Refused
from bot.services.rewards.ledger import post_points
from bot.services.rewards.purchases import PurchaseResult, canonical_hash, find_purchase, member_json, replay
from bot.services.rewards.stamps import reverse_purchase_stamps
from bot.services.rewards.tiers import evaluate_tier
from models import Member, MemberBalance, PointEntry, Purchase, Refund

REVERSE_REASON = "退貨"


@dataclass(frozen=True)
class RefundRequest:
    """A refund as the channel sent it (already checked for shape by the API)."""

    transaction_id: str
    refund_id: str
    amount: int

    @property
    def request_hash(self) -> str:
        return canonical_hash(asdict(self))


def _find_refund(session: Session, purchase_id: int, refund_id: str) -> Refund | None:
    return session.scalars(
        select(Refund).where(Refund.purchase_id == purchase_id, Refund.refund_id == refund_id)
    ).one_or_none()


def _add_refunded(session: Session, purchase: Purchase, amount: int) -> int | None:
    """Add to the purchase's refunded amount unless that would exceed the purchase; the new total."""
    total = session.execute(
        update(Purchase)
        .where(Purchase.id == purchase.id, Purchase.refunded_amount + amount <= Purchase.amount)
        .values(refunded_amount=Purchase.refunded_amount + amount)
        .returning(Purchase.refunded_amount)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if total is not None:
        set_committed_value(purchase, "refunded_amount", total)
    return total


def record_refund(
    session: Session, store_id: int, request: RefundRequest, *, at: datetime, tz: tzinfo
) -> PurchaseResult:
    """Record a (partial) refund of a store's purchase once: reverse its points and stamps in proportion, update the
    refunded amount and re-evaluate the tier (a refund may undo an upgrade, one step). The same request again
    answers the stored response with no new effect.

    Refused, with nothing changed: `purchase_not_found`, `refund_exceeds_purchase`, `idempotency_conflict`.
    """
    purchase = find_purchase(session, store_id, request.transaction_id)
    if purchase is None:
        raise Refused(Reason.PURCHASE_NOT_FOUND)
    request_hash = request.request_hash
    stored = _find_refund(session, purchase.id, request.refund_id)
    if stored is not None:
        return replay(stored.response, stored.request_hash, request_hash)
    refund = Refund(
        purchase_id=purchase.id,
        refund_id=request.refund_id,
        request_hash=request_hash,
        amount=request.amount,
        response={},
        created_at=at,
    )
    attempt = session.begin_nested()
    try:
        session.add(refund)
        session.flush()
        refunded_total = _add_refunded(session, purchase, request.amount)
        if refunded_total is None:
            attempt.rollback()
            raise Refused(Reason.REFUND_EXCEEDS_PURCHASE)
    except IntegrityError:
        attempt.rollback()
        winner = _find_refund(session, purchase.id, request.refund_id)
        if winner is None:
            raise
        return replay(winner.response, winner.request_hash, request_hash)
    attempt.commit()
    return _reverse(session, purchase, refund, refunded_total, at=at, tz=tz)


def _reverse(
    session: Session, purchase: Purchase, refund: Refund, refunded_total: int, *, at: datetime, tz: tzinfo
) -> PurchaseResult:
    member = session.get(Member, purchase.member_id)
    assert member is not None
    earned = purchase.points_earned
    share = earned * refunded_total // purchase.amount - earned * (refunded_total - refund.amount) // purchase.amount
    # Hold the balance row so a concurrent spend cannot slip between reading the balance and debiting it.
    session.execute(select(MemberBalance.points).where(MemberBalance.member_id == member.id).with_for_update())
    reversed_points = min(share, points_balance(session, member.id))
    if reversed_points > 0:
        earn_entry = session.scalars(
            select(PointEntry).where(PointEntry.idempotency_key == f"purchase:{purchase.id}")
        ).one()
        post_points(
            session,
            member.id,
            -reversed_points,
            kind="reverse",
            reason=REVERSE_REASON,
            channel=purchase.channel,
            idempotency_key=f"refund:{refund.id}",
            at=at,
            purchase_id=purchase.id,
            reverses_entry_id=earn_entry.id,
        )
    stamps_reversed = reverse_purchase_stamps(session, purchase, refund.amount, at, tz)
    missions.on_refund(session, purchase, refund.amount, at, tz)
    change = evaluate_tier(session, member, at, allow_downgrade=True, reason="refund")
    body: dict[str, Any] = {
        "refund_id": refund.refund_id,
        "purchase_id": purchase.id,
        "transaction_id": purchase.transaction_id,
        "amount": refund.amount,
        "purchase_refunded_amount": refunded_total,
        "points_reversed": reversed_points,
        "points_shortfall": share - reversed_points,
        "stamps_reversed": stamps_reversed,
        "member": member_json(session, member),
    }
    if change is not None:
        body["tier_changed_to"] = change.to_tier
    refund.response = body
    session.flush()
    return PurchaseResult({**body, "replayed": False})
