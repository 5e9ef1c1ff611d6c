"""The POS API (/api/v1, store key required): scan a member code, look a member up (scope `scan`); issue a bind
code, unbind at the counter, erase (scope `members`, and a clerk of the key's store for each).

openapi/pos-api.yaml describes these endpoints; tests check the answers against it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.services.barcode.scanning import INTENTS, scan
from bot.services.membership.bind_codes import issue_bind_code
from bot.services.membership.erasure import request_erasure
from bot.services.membership.members import find_by_number, find_with_points
from bot.services.refusals import Reason, Refused
from bot.services.staff.api_keys import SCOPE_MEMBERS, SCOPE_SCAN
from bot.services.staff.counter import MemberCard, find_active_staff, member_card, unbind_at_counter
from bot.uow import UnitOfWork
from bot.web import api_errors
from bot.web.api_auth import current_store, require_store_key
from bot.web.api_input import choice, json_object, required_text, staff_code
from models import Member, Staff, Store

log = logging.getLogger(__name__)

bp = Blueprint("api_members", __name__, url_prefix="/api/v1")
api_errors.install(bp)


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


def _lookup(session: Session, member_number: str, staff: str | None) -> tuple[Store, Member, Staff | None]:
    """The key's store, the member with this number (refused `member_not_found` when there is none) and the clerk
    with this staff code (refused `unknown_staff`), if one was given."""
    store = session.get(Store, current_store().id)
    assert store is not None
    clerk = find_active_staff(session, store, staff) if staff else None
    member = find_by_number(session, member_number)
    if member is None:
        raise Refused(Reason.MEMBER_NOT_FOUND)
    return store, member, clerk


@bp.get("/members/<member_number>")
@require_store_key(scope=SCOPE_SCAN)
def get_member(uow: UnitOfWork, member_number: str) -> ResponseReturnValue:
    found = find_with_points(uow.session, member_number)
    if found is None:
        raise Refused(Reason.MEMBER_NOT_FOUND)
    member, points = found
    return jsonify(_card_json(member_card(uow.session, member, points)))


@bp.post("/members/<member_number>/bind-codes")
@require_store_key(scope=SCOPE_MEMBERS)
def issue_code(uow: UnitOfWork, member_number: str) -> ResponseReturnValue:
    clerk = staff_code(json_object(required=False), required=True)
    session = uow.session
    store, member, staff = _lookup(session, member_number, clerk)
    assert staff is not None
    code = issue_bind_code(session, member, store=store, staff=staff, now=uow.now)
    log.info("bind code issued for member %s at store %s", member_number, store.code)
    return jsonify({"code": code.code, "expires_at": code.expires_at.isoformat()}), 201


@bp.post("/members/<member_number>/unbind")
@require_store_key(scope=SCOPE_MEMBERS)
def unbind_member(uow: UnitOfWork, member_number: str) -> ResponseReturnValue:
    clerk = staff_code(json_object(required=False), required=True)
    session = uow.session
    _store, member, staff = _lookup(session, member_number, clerk)
    assert staff is not None
    unbind_at_counter(session, member, staff=staff, now=uow.now)
    card = member_card(session, member)
    return jsonify(_card_json(card))


@bp.post("/members/<member_number>/erase")
@require_store_key(scope=SCOPE_MEMBERS)
def erase_member(uow: UnitOfWork, member_number: str) -> ResponseReturnValue:
    clerk = staff_code(json_object(required=False), required=True)
    session = uow.session
    store, member, staff = _lookup(session, member_number, clerk)
    assert staff is not None
    erasure = request_erasure(session, member, "api", uow.now, staff_id=staff.id, store_id=store.id)
    card = member_card(session, member)
    assert erasure.completed_at is not None
    return jsonify(
        {"erasure_request_id": erasure.id, "completed_at": erasure.completed_at.isoformat(), "member": _card_json(card)}
    )


@bp.post("/scan")
@require_store_key(scope=SCOPE_SCAN)
def scan_code(uow: UnitOfWork) -> ResponseReturnValue:
    body = json_object(required=False)
    code, intent = required_text(body, "code", 64), choice(body, "intent", INTENTS, "lookup")
    clerk = staff_code(body, required=False)
    session = uow.session
    store = current_store()
    staff = find_active_staff(session, store, clerk) if clerk else None
    outcome = scan(session, code, intent=intent, store_id=store.id, staff_id=staff.id if staff else None, at=uow.now)
    if outcome.refusal is not None:
        return api_errors.answer_refusal(outcome.refusal)  # answered, not raised: the scan log keeps the refusal
    card = member_card(session, outcome.member) if outcome.member else None
    assert card is not None
    return jsonify(
        {
            "member": _card_json(card),
            "by_member_number": outcome.by_member_number,
            "code_spent": intent == "transaction",
        }
    )
