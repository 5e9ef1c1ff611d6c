"""Purchases from any channel (store POS, online shop): identify the member, earn points and stamps, lift the tier.

A purchase is recorded once per (store, transaction id). The same request again is answered with the stored
response and changes nothing; the same transaction id with a different body is refused (`idempotency_conflict`).
Concurrent repeats are decided by the database: the spent member code or the unique (store, transaction id) lets
exactly one through, and the others answer the winner's stored response.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.barcode.scanning import scan
from bot.services.engagement import missions
from bot.services.membership.members import find_by_number, points_balance
from bot.services.refusals import Reason, Refused
from bot.services.rewards.ledger import post_points
from bot.services.rewards.point_expiry import expiry_for
from bot.services.rewards.stamps import stamps_for_purchase
from bot.services.rewards.tiers import NTD_PER_POINT, Tier, evaluate_tier, tier_of
from bot.services.staff.counter import find_active_staff
from models import Member, Purchase, Store

EARN_REASON = "消費"


@dataclass(frozen=True)
class PurchaseRequest:
    """A purchase as the channel sent it (already checked for shape by the API)."""

    transaction_id: str
    amount: int
    channel: str = "pos"
    member_code: str | None = None
    member_number: str | None = None
    staff_code: str | None = None
    items: list[dict[str, Any]] | None = None

    @property
    def request_hash(self) -> str:
        return canonical_hash(asdict(self))


@dataclass(frozen=True)
class PurchaseResult:
    """A recorded purchase or refund as the channel is answered: the body, and whether it is the stored answer to
    the same request made before (nothing new was recorded) rather than a new record."""

    body: dict[str, Any]
    replayed: bool = False


def canonical_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the request's meaningful fields as sorted, compact JSON (absent and null are the same)."""
    present = {key: value for key, value in fields.items() if value is not None}
    text = json.dumps(present, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def replay(stored: dict[str, Any], stored_hash: str, request_hash: str) -> PurchaseResult:
    """The stored answer again when the request is the same one; refused (`idempotency_conflict`) otherwise."""
    if stored_hash != request_hash:
        raise Refused(Reason.IDEMPOTENCY_CONFLICT)
    return PurchaseResult({**stored, "replayed": True}, replayed=True)


def points_for(amount: int, tier: Tier) -> int:
    """Points a purchase earns: floor(amount / NTD_PER_POINT × the tier's multiplier), in exact arithmetic."""
    return int(Decimal(amount) * Decimal(str(tier.earn_multiplier)) / NTD_PER_POINT)


def member_json(session: Session, member: Member) -> dict[str, Any]:
    """The member as purchase and refund answers show them."""
    return {
        "member_number": member.member_number,
        "name": member.name,
        "tier": member.tier,
        "points": points_balance(session, member.id),
    }


# Built once: every purchase asks whether its transaction id was seen.
_BY_TRANSACTION = select(Purchase).where(
    Purchase.store_id == bindparam("store_id"), Purchase.transaction_id == bindparam("transaction_id")
)


def find_purchase(session: Session, store_id: int, transaction_id: str) -> Purchase | None:
    """The purchase a store recorded under this transaction id."""
    return session.scalars(_BY_TRANSACTION, {"store_id": store_id, "transaction_id": transaction_id}).one_or_none()


def _identify(session: Session, request: PurchaseRequest, store_id: int, staff_id: int | None, at: datetime) -> Member:
    """The member (refused `member_not_found`, or as the scan was). A scanned code is spent; a number is for the
    online shop only."""
    if request.member_code is None and request.channel == "online":
        member = find_by_number(session, request.member_number or "")
        if member is None or member.erased_at is not None:
            raise Refused(Reason.MEMBER_NOT_FOUND)
        return member
    scanned = request.member_code or request.member_number or ""
    outcome = scan(session, scanned, intent="transaction", store_id=store_id, staff_id=staff_id, at=at)
    if outcome.refusal is not None:
        raise outcome.refusal
    assert outcome.member is not None
    return outcome.member


def record_purchase(
    session: Session, store_id: int, request: PurchaseRequest, *, at: datetime, tz: tzinfo
) -> PurchaseResult:
    """Record a purchase once: points earned, stamps, tier change; the same request again answers the stored
    response with no new effect.

    Refused (`Refused`: `idempotency_conflict`, `channel_not_allowed`, `unknown_staff`, `member_not_found` or the
    scan's refusal) with nothing recorded but the refused scan's log entry: the caller's transaction should commit
    on a refusal too, so that the scan log keeps it. A refusal while earning (`stamp_card_unavailable`,
    `coupon_unavailable`) rolls the whole purchase back, the spent code included.
    """
    request_hash = request.request_hash
    store = session.get(Store, store_id)
    assert store is not None
    # A request sent again is found by the unique transaction id, not looked up first: a new purchase (nearly all
    # of them) is spared that query. Whatever the repeat runs into (its code already spent, its clerk since
    # deactivated, the unique key) is rolled back and the stored answer given.
    attempt = session.begin_nested()
    identified: Member | None = None
    try:
        if request.channel == "online" and not store.is_online:
            raise Refused(Reason.CHANNEL_NOT_ALLOWED)
        staff = find_active_staff(session, store, request.staff_code) if request.staff_code else None
        identified = _identify(session, request, store_id, staff.id if staff else None, at)
        purchase = Purchase(
            store_id=store_id,
            channel=request.channel,
            transaction_id=request.transaction_id,
            request_hash=request_hash,
            member_id=identified.id,
            staff_id=staff.id if staff else None,
            amount=request.amount,
            items=request.items,
            response={},
            created_at=at,
        )
        session.add(purchase)
        session.flush()
        result = _earn(session, identified, purchase, at=at, tz=tz)
    except Refused:
        if identified is not None:
            # Refused while earning (a stamp card or reward could not be made): nothing of this purchase stays.
            attempt.rollback()
            raise
        # A repeat of a recorded request (a code already spent may have been spent by this very request, sent twice
        # at once: the winner has committed by the time the code's row lock let us on): its purchase answers.
        winner = find_purchase(session, store_id, request.transaction_id)
        if winner is not None:
            attempt.rollback()
            return replay(winner.response, winner.request_hash, request_hash)
        attempt.commit()  # the refused scan's log entry stays
        raise
    except IntegrityError:
        attempt.rollback()
        winner = find_purchase(session, store_id, request.transaction_id)
        if winner is None:
            raise
        return replay(winner.response, winner.request_hash, request_hash)
    attempt.commit()
    return result


def _earn(session: Session, member: Member, purchase: Purchase, *, at: datetime, tz: tzinfo) -> PurchaseResult:
    points = points_for(purchase.amount, tier_of(session, member.tier))
    if points > 0:
        post_points(
            session,
            member.id,
            points,
            kind="earn",
            reason=EARN_REASON,
            channel=purchase.channel,
            idempotency_key=f"purchase:{purchase.id}",
            at=at,
            expires_at=expiry_for(at, tz),
            purchase_id=purchase.id,
            key_is_new=True,
        )
    stamps = stamps_for_purchase(session, member, purchase, at, tz)
    missions.on_purchase(session, member, purchase, tz)
    change = evaluate_tier(session, member, at, allow_downgrade=False)
    body: dict[str, Any] = {
        "purchase_id": purchase.id,
        "transaction_id": purchase.transaction_id,
        "member": member_json(session, member),
        "points_earned": points,
        "stamps": stamps,
    }
    if change is not None:
        body["tier_changed_to"] = change.to_tier
    # Set together at the end: one UPDATE of the purchase row.
    purchase.points_earned = points
    purchase.response = body
    session.flush()
    return PurchaseResult({**body, "replayed": False})
