"""The POS API's smart stamp (/api/v1/stamps, store key required): the clerk scans the member's rotating code and
the member gets one stamp on every per-visit stamp card.

openapi/pos-api.yaml describes the endpoint; tests check the answers against it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.services.refusals import Refused
from bot.services.rewards.stamps_at_till import TillStamp, stamp_at_till
from bot.services.staff.api_keys import SCOPE_SCAN
from bot.services.staff.counter import find_active_staff, member_card
from bot.uow import UnitOfWork
from bot.web import api_errors, api_input
from bot.web.api_auth import current_store, require_store_key

log = logging.getLogger(__name__)

bp = Blueprint("api_stamps", __name__, url_prefix="/api/v1")
api_errors.install(bp)


def _answer(session: Session, stamped: TillStamp) -> dict[str, Any]:
    return {
        "member": asdict(member_card(session, stamped.member)),
        "cards": stamped.cards,
        "replayed": stamped.replayed,
    }


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
    stamped = stamp_at_till(uow.session, store, staff, code, key, uow.now, uow.settings.tz)
    if isinstance(stamped, Refused):
        return api_errors.answer_refusal(stamped)  # answered, not raised: the scan log keeps the refused scan
    answer = _answer(uow.session, stamped)
    log.info("smart stamp at store %s: %d cards", store.code, len(answer["cards"]))
    return jsonify(answer)
