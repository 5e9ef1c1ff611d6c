"""The POS API's smart stamp (/api/v1/stamps, store key required): the clerk scans the member's rotating code and
the member gets one stamp on every per-visit stamp card.

openapi/pos-api.yaml describes the endpoint; tests check the answers against it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

import bot.tasks  # noqa: F401  (sends the pushes of cards filled here once the transaction commits)
from bot.db import transaction
from bot.i18n import gettext
from bot.runtime import Runtime
from bot.services.barcode.scanning import SCAN_REFUSALS, scan
from bot.services.membership.members import MemberError
from bot.services.rewards.stamps import LIMIT_REACHED, NO_VISIT_CARD, earlier_smart_stamp, smart_stamp
from bot.services.staff.counter import UnknownStaff, find_active_staff, member_card
from bot.web.api_auth import api_error, current_store, require_store_key
from models import Member, Staff, Store

log = logging.getLogger(__name__)

bp = Blueprint("api_stamps", __name__, url_prefix="/api/v1")

# A refusal: HTTP status, error word, zh-TW message, English.
Refusal = tuple[int, str, str, str | None]
_STAMP_REFUSALS = {LIMIT_REACHED: (409, "daily_limit_reached"), NO_VISIT_CARD: (409, "no_stamp_card")}


class _BadRequest(Exception):
    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en


@bp.errorhandler(_BadRequest)
def _bad_request(exc: _BadRequest) -> ResponseReturnValue:
    return api_error(400, "invalid_request", exc.message, exc.message_en)


@bp.errorhandler(UnknownStaff)
def _unknown_staff(exc: UnknownStaff) -> ResponseReturnValue:
    return api_error(422, "unknown_staff", exc.message, gettext(exc.message, "en"))


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["runtime"]
    return runtime


def _text(body: dict[str, Any], name: str, max_length: int, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or not value.isprintable():
        raise _BadRequest(
            f"{name} 必須是 1 到 {max_length} 字的文字", f"{name} must be text of 1 to {max_length} characters."
        )
    return value.strip()


def _answer(session: Session, member: Member, cards: list[dict[str, Any]], replayed: bool) -> dict[str, Any]:
    return {"member": asdict(member_card(session, member)), "cards": cards, "replayed": replayed}


def _stamp(
    session: Session, store: Store, staff: Staff, code: str, key: str | None, at: datetime
) -> dict[str, Any] | Refusal:
    """The answer's body, or the refusal."""
    if key is not None and (member_id := earlier_smart_stamp(session, store.id, key)) is not None:
        member = session.get(Member, member_id)
        assert member is not None
        cards = smart_stamp(session, member, store_id=store.id, staff_id=staff.id, at=at, idempotency_key=key)
        return _answer(session, member, cards, replayed=True)
    try:
        with session.begin_nested():
            outcome = scan(session, code, intent="transaction", store_id=store.id, staff_id=staff.id, at=at)
            if outcome.refusal is not None:
                status, error, message_en = SCAN_REFUSALS[outcome.refusal.reason]
                return status, error, outcome.refusal.message, message_en
            assert outcome.member is not None
            cards = smart_stamp(
                session,
                outcome.member,
                store_id=store.id,
                staff_id=staff.id,
                at=at,
                idempotency_key=key or f"scan:{uuid.uuid4()}",
            )
            return _answer(session, outcome.member, cards, replayed=False)
    except MemberError as refused:
        # Rolled back: the code is not spent and no card changed; the attempt is logged as a look-up.
        scan(session, code, intent="lookup", store_id=store.id, staff_id=staff.id, at=at)
        status, error = _STAMP_REFUSALS.get(refused.message, (503, "stamp_unavailable"))
        return status, error, refused.message, gettext(refused.message, "en")


@bp.post("/stamps")
@require_store_key()
def give_stamp() -> ResponseReturnValue:
    """The smart stamp: spend the scanned member code and stamp every per-visit card once."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _BadRequest("請以 JSON 物件傳送資料", "The body must be a JSON object.")
    code, staff_code = _text(body, "member_code", 64), _text(body, "staff_code", 32)
    key = _text(body, "idempotency_key", 100, required=False)
    assert code is not None and staff_code is not None
    with transaction(_runtime().sessions) as session:
        store = session.get(Store, current_store().id)
        assert store is not None
        staff = find_active_staff(session, store, staff_code)
        answer = _stamp(session, store, staff, code, key, datetime.now(UTC))
    if isinstance(answer, tuple):
        status, error, message, message_en = answer
        return api_error(status, error, message, message_en)
    log.info("smart stamp at store %s: %d cards", store.code, len(answer["cards"]))
    return jsonify(answer)
