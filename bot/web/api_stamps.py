"""The POS API's smart stamp (/api/v1/stamps, store key required): the clerk scans the member's rotating code and
the member gets one stamp on every per-visit stamp card.

openapi/pos-api.yaml describes the endpoint; tests check the answers against it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import datetime, tzinfo
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.services.barcode.scanning import scan
from bot.services.refusals import Reason, Refused
from bot.services.rewards.stamps import earlier_smart_stamp, smart_stamp
from bot.services.staff.api_keys import SCOPE_SCAN
from bot.services.staff.counter import find_active_staff, member_card
from bot.uow import UnitOfWork
from bot.web import api_errors, api_input
from bot.web.api_auth import current_store, require_store_key
from models import Member, Staff, Store

log = logging.getLogger(__name__)

bp = Blueprint("api_stamps", __name__, url_prefix="/api/v1")
api_errors.install(bp)

# What a smart stamp is refused for; any other refusal is answered as a card that cannot be stamped just now.
STAMP_REFUSALS = (
    Reason.DAILY_LIMIT_REACHED,
    Reason.NO_STAMP_CARD,
    Reason.STAMP_CARD_UNAVAILABLE,
    Reason.COUPON_UNAVAILABLE,
)


def _answer(session: Session, member: Member, cards: list[dict[str, Any]], replayed: bool) -> dict[str, Any]:
    return {"member": asdict(member_card(session, member)), "cards": cards, "replayed": replayed}


def _stamp(
    session: Session, store: Store, staff: Staff, code: str, key: str | None, at: datetime, tz: tzinfo
) -> dict[str, Any] | Refused:
    """The answer's body, or the refusal (returned, not raised: the caller commits the scan log either way)."""
    if key is not None and (member_id := earlier_smart_stamp(session, store.id, key)) is not None:
        member = session.get(Member, member_id)
        assert member is not None
        cards = smart_stamp(session, member, store_id=store.id, staff_id=staff.id, at=at, idempotency_key=key, tz=tz)
        return _answer(session, member, cards, replayed=True)
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
                idempotency_key=key or f"scan:{uuid.uuid4()}",
                tz=tz,
            )
            return _answer(session, outcome.member, cards, replayed=False)
    except Refused as refused:
        # Rolled back: the code is not spent and no card changed; the attempt is logged as a look-up.
        scan(session, code, intent="lookup", store_id=store.id, staff_id=staff.id, at=at)
        if refused.reason not in STAMP_REFUSALS:
            log.warning("smart stamp at store %s refused: %s", store.code, refused.reason)
            return Refused(Reason.STAMP_CARD_UNAVAILABLE)
        return refused


@bp.post("/stamps")
@require_store_key(scope=SCOPE_SCAN)
def give_stamp(uow: UnitOfWork) -> ResponseReturnValue:
    """The smart stamp: spend the scanned member code and stamp every per-visit card once."""
    body = api_input.json_object()
    code, staff_code = api_input.required_text(body, "member_code", 64), api_input.staff_code(body, required=True)
    key = api_input.text(body, "idempotency_key", 100, required=False)
    store = current_store()
    assert staff_code is not None
    staff = find_active_staff(uow.session, store, staff_code)
    answer = _stamp(uow.session, store, staff, code, key, uow.now, uow.settings.tz)
    if isinstance(answer, Refused):
        return api_errors.answer_refusal(answer)  # answered, not raised: the scan log keeps the refused scan
    log.info("smart stamp at store %s: %d cards", store.code, len(answer["cards"]))
    return jsonify(answer)
