"""The smart stamp at a till (the POS API and the counter page): the clerk scans the member's rotating code, which
spends it, and the member gets one stamp on every per-visit stamp card."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from bot.services.barcode.scanning import scan
from bot.services.refusals import Reason, Refused
from bot.services.rewards.stamps import earlier_smart_stamp, smart_stamp
from models import Member, Staff, Store

log = logging.getLogger(__name__)

# What a smart stamp is refused for; any other refusal is answered as a card that cannot be stamped just now.
STAMP_REFUSALS = (
    Reason.DAILY_LIMIT_REACHED,
    Reason.NO_STAMP_CARD,
    Reason.STAMP_CARD_UNAVAILABLE,
    Reason.COUPON_UNAVAILABLE,
)


@dataclass(frozen=True)
class TillStamp:
    """Who was stamped, each card's progress, and whether this answers an earlier request with the same key."""

    member: Member
    cards: list[dict[str, Any]]
    replayed: bool


def stamp_at_till(
    session: Session,
    store: Store,
    staff: Staff,
    code: str,
    idempotency_key: str | None,
    at: datetime,
    tz: tzinfo,
) -> TillStamp | Refused:
    """Spend the scanned code and stamp every per-visit card once; the same idempotency key at the same store
    answers the earlier stamp again. A refusal is returned, not raised, with the code unspent and no card changed:
    the caller commits either way, so the scan log keeps the attempt."""
    if idempotency_key is not None and (member_id := earlier_smart_stamp(session, store.id, idempotency_key)):
        member = session.get(Member, member_id)
        assert member is not None
        cards = smart_stamp(
            session, member, store_id=store.id, staff_id=staff.id, at=at, idempotency_key=idempotency_key, tz=tz
        )
        return TillStamp(member, cards, replayed=True)
    try:
        with session.begin_nested():
            outcome = scan(session, code, intent="transaction", store_id=store.id, staff_id=staff.id, at=at)
            if outcome.refusal is not None:
                return outcome.refusal
            assert outcome.member is not None
            cards = smart_stamp(
                session,
                outcome.member,
                store_id=store.id,
                staff_id=staff.id,
                at=at,
                idempotency_key=idempotency_key or f"scan:{uuid.uuid4()}",
                tz=tz,
            )
            return TillStamp(outcome.member, cards, replayed=False)
    except Refused as refused:
        # Rolled back: the code is not spent and no card changed; the attempt is logged as a look-up.
        scan(session, code, intent="lookup", store_id=store.id, staff_id=staff.id, at=at)
        if refused.reason not in STAMP_REFUSALS:
            log.warning("smart stamp at store %s refused: %s", store.code, refused.reason)
            return Refused(Reason.STAMP_CARD_UNAVAILABLE)
        return refused
