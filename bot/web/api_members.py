"""The POS API (/api/v1, store key required): scan a member code, look a member up, issue a bind code, unbind at
the counter, erase.

openapi/pos-api.yaml describes these endpoints; tests check the answers against it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.db import transaction
from bot.runtime import Runtime
from bot.services.barcode.scanning import INTENTS, SCAN_REFUSALS, scan
from bot.services.membership.bind_codes import issue_bind_code
from bot.services.membership.binding import BindingRefused
from bot.services.membership.erasure import request_erasure
from bot.services.membership.members import MemberError, find_by_number
from bot.services.staff.counter import MemberCard, UnknownStaff, find_active_staff, member_card, unbind_at_counter
from bot.web.api_auth import api_error, current_store, require_store_key
from models import Member, Staff, Store

log = logging.getLogger(__name__)

bp = Blueprint("api_members", __name__, url_prefix="/api/v1")

# English for the zh-TW reasons the services give, for the POS developers' logs.
_ENGLISH = {
    "此會員資料已刪除": "This member's personal data has been erased.",
    "此會員資料已刪除，無法綁定": "This member's personal data has been erased; it cannot be bound.",
    "此會員已綁定 LINE 帳號，如需更換請先解除綁定": "This member is already bound to a LINE account; unbind it first.",
    "此會員尚未綁定 LINE 帳號": "This member has no LINE account bound.",
    "找不到此門市的在職人員代碼": "No active staff member with this code works at this store.",
    "目前無法產生綁定碼，請稍後再試": "A bind code could not be issued; try again shortly.",
}


class _BadRequest(Exception):
    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["runtime"]
    return runtime


def _body() -> dict[str, Any]:
    """The JSON object sent, or {} when there is no body."""
    if not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _BadRequest("請以 JSON 物件傳送資料", "The body must be a JSON object.")
    return body


def _staff_code(body: dict[str, Any], *, required: bool) -> str | None:
    value = body.get("staff_code")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _BadRequest("請提供人員代碼 staff_code", "staff_code is required.")
    return value.strip()


def _card_json(card: MemberCard) -> dict[str, Any]:
    return {
        "member_number": card.member_number,
        "name": card.name,
        "tier": card.tier,
        "points": card.points,
        "bound": card.bound,
        "phone_masked": card.phone_masked,
        "erased": card.erased,
    }


def _refused(status: int, error: str, exc: MemberError) -> ResponseReturnValue:
    return api_error(status, error, exc.message, _ENGLISH.get(exc.message))


def _member_not_found() -> ResponseReturnValue:
    return api_error(404, "member_not_found", "查無此會員編號", "No member has this member number.")


def _lookup(session: Session, member_number: str, staff_code: str | None) -> tuple[Store, Member | None, Staff | None]:
    store = session.get(Store, current_store().id)
    assert store is not None
    staff = find_active_staff(session, store, staff_code) if staff_code else None
    return store, find_by_number(session, member_number), staff


@bp.errorhandler(_BadRequest)
def _bad_request(exc: _BadRequest) -> ResponseReturnValue:
    return api_error(400, "invalid_request", exc.message, exc.message_en)


@bp.errorhandler(UnknownStaff)
def _unknown_staff(exc: UnknownStaff) -> ResponseReturnValue:
    return _refused(422, "unknown_staff", exc)


@bp.get("/members/<member_number>")
@require_store_key()
def get_member(member_number: str) -> ResponseReturnValue:
    with transaction(_runtime().sessions) as session:
        member = find_by_number(session, member_number)
        if member is None:
            return _member_not_found()
        return jsonify(_card_json(member_card(session, member)))


@bp.post("/members/<member_number>/bind-codes")
@require_store_key()
def issue_code(member_number: str) -> ResponseReturnValue:
    staff_code = _staff_code(_body(), required=False)
    try:
        with transaction(_runtime().sessions) as session:
            store, member, staff = _lookup(session, member_number, staff_code)
            if member is None:
                return _member_not_found()
            code = issue_bind_code(session, member, store=store, staff=staff, now=datetime.now(UTC))
    except BindingRefused as exc:
        return _refused(409, "cannot_issue_code", exc)
    except UnknownStaff:
        raise
    except MemberError as exc:
        return _refused(503, "code_unavailable", exc)
    log.info("bind code issued for member %s at store %s", member_number, store.code)
    return jsonify({"code": code.code, "expires_at": code.expires_at.isoformat()}), 201


@bp.post("/members/<member_number>/unbind")
@require_store_key()
def unbind_member(member_number: str) -> ResponseReturnValue:
    staff_code = _staff_code(_body(), required=True)
    try:
        with transaction(_runtime().sessions) as session:
            _store, member, staff = _lookup(session, member_number, staff_code)
            if member is None:
                return _member_not_found()
            assert staff is not None
            unbind_at_counter(session, member, staff=staff, now=datetime.now(UTC))
            card = member_card(session, member)
    except BindingRefused as exc:
        return _refused(409, "not_bound", exc)
    return jsonify(_card_json(card))


@bp.post("/members/<member_number>/erase")
@require_store_key()
def erase_member(member_number: str) -> ResponseReturnValue:
    staff_code = _staff_code(_body(), required=False)
    try:
        with transaction(_runtime().sessions) as session:
            store, member, staff = _lookup(session, member_number, staff_code)
            if member is None:
                return _member_not_found()
            erasure = request_erasure(
                session, member, "api", datetime.now(UTC), staff_id=staff.id if staff else None, store_id=store.id
            )
            card = member_card(session, member)
    except UnknownStaff:
        raise
    except MemberError as exc:
        return _refused(409, "already_erased", exc)
    assert erasure.completed_at is not None
    return jsonify(
        {"erasure_request_id": erasure.id, "completed_at": erasure.completed_at.isoformat(), "member": _card_json(card)}
    )


@bp.post("/scan")
@require_store_key()
def scan_code() -> ResponseReturnValue:
    body = _body()
    code, intent = body.get("code"), body.get("intent", "lookup")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        raise _BadRequest("請提供掃描到的條碼內容 code", "code is required.")
    if intent not in INTENTS:
        raise _BadRequest("intent 必須是 lookup 或 transaction", "intent must be lookup or transaction.")
    staff_code = _staff_code(body, required=False)
    with transaction(_runtime().sessions) as session:
        store, _member, staff = _lookup(session, "", staff_code)
        outcome = scan(
            session, code, intent=intent, store_id=store.id, staff_id=staff.id if staff else None, at=datetime.now(UTC)
        )
        card = member_card(session, outcome.member) if outcome.member else None
    if outcome.refusal is not None:
        status, error, message_en = SCAN_REFUSALS[outcome.refusal.reason]
        return api_error(status, error, outcome.refusal.message, message_en)
    assert card is not None
    return jsonify(
        {
            "member": _card_json(card),
            "by_member_number": outcome.by_member_number,
            "code_spent": intent == "transaction",
        }
    )
