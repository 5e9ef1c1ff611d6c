"""Coupons in the POS API (/api/v1, a store key with the `coupons` scope): redeem a coupon at the till with its
member present (their scanned member code; the member number for the online shop's key), undo it within 15 minutes,
list a member's usable coupons. Also the signed, expiring Code 128 image of a coupon the chat shows.

openapi/pos-api.yaml describes the API; tests check the answers against it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.barcode_images import code128_png
from bot.links import LinkInvalid, read_link
from bot.services.barcode.scanning import scan
from bot.services.membership.members import find_by_number
from bot.services.refusals import Reason, Refused
from bot.services.rewards.coupons import (
    CouponRefused,
    find_coupon,
    live_redemption,
    redeem_coupon,
    template_of,
    undo_redemption,
    usable_coupons,
)
from bot.services.staff.api_keys import SCOPE_COUPONS
from bot.services.staff.counter import find_active_staff
from bot.uow import UnitOfWork
from bot.web import api_errors, api_input, runtime
from bot.web.api_auth import current_store, require_store_key
from bot.web.api_errors import BadRequest
from bot.web.api_input import count, json_object, required_text, text
from models import Coupon, Member, Staff, Store

log = logging.getLogger(__name__)

bp = Blueprint("api_coupons", __name__, url_prefix="/api/v1")
images = Blueprint("coupon_images", __name__)
api_errors.install(bp)

# A coupon image link works this long: a chat image LINE fetches again later still shows.
IMAGE_MAX_AGE_SECONDS = 24 * 60 * 60
COUPON_CODE = re.compile(r"^CP\d{12}$")


def coupon_json(session: Session, coupon: Coupon) -> dict[str, Any]:
    """A coupon as the POS sees it."""
    template = template_of(session, coupon)
    member = session.get(Member, coupon.member_id)
    assert member is not None
    return {
        "code": coupon.code,
        "name": template.name,
        "kind": template.kind,
        "value": template.value,
        "item": template.item,
        "min_spend": template.min_spend,
        "valid_from": coupon.valid_from.isoformat(),
        "expires_at": coupon.expires_at.isoformat() if coupon.expires_at else None,
        "member_number": member.member_number,
    }


def _store_and_staff(session: Session, staff_code: str | None) -> tuple[Store, Staff | None]:
    store = session.get(Store, current_store().id)
    assert store is not None
    return store, find_active_staff(session, store, staff_code) if staff_code else None


@bp.post("/coupons/redeem")
@require_store_key(scope=SCOPE_COUPONS)
def redeem(uow: UnitOfWork) -> ResponseReturnValue:
    body = json_object(required=False)
    code = required_text(body, "code", 32)
    staff_code = api_input.staff_code(body, required=False)
    member_code = text(body, "member_code", 64, required=False)
    member_number = text(body, "member_number", 32, required=False)
    if member_code is not None and member_number is not None:
        raise BadRequest("請提供 member_code（掃描的會員條碼）或 member_number 其中之一")
    transaction_id = text(body, "transaction_id", 100, required=False)
    spend = count(body, "spend", 0, required=False)
    session, at = uow.session, uow.now
    store, staff = _store_and_staff(session, staff_code)
    member = _member_at_till(session, store, staff, member_code, member_number, at)
    if isinstance(member, Refused):
        return api_errors.answer_refusal(member)  # answered, not raised: the scan log keeps the refused scan
    try:
        coupon = redeem_coupon(
            session,
            code,
            store_id=store.id,
            staff_id=staff.id if staff else None,
            channel="pos_api",
            at=at,
            member_id=member.id if member else None,
            spend=spend,
            transaction_id=transaction_id,
            tz=uow.settings.tz,
        )
    except CouponRefused as refused:
        coupon = _replayed(session, refused, code, store.id, transaction_id)
    assert coupon.redeemed_at is not None
    log.info("coupon redeemed at store %s", store.code)
    return jsonify({"coupon": coupon_json(session, coupon), "redeemed_at": coupon.redeemed_at.isoformat()})


def _member_at_till(
    session: Session,
    store: Store,
    staff: Staff | None,
    member_code: str | None,
    member_number: str | None,
    at: datetime,
) -> Member | Refused | None:
    """The member redeeming: the rotating member code scanned at the till (looked up, not spent, so the same scan
    still earns the purchase's points), or, for the online shop's key only, the member number. None when neither
    was sent; a refused scan is returned (to raise once its log entry is committed)."""
    if member_number is not None:
        if not store.is_online:
            raise Refused(Reason.MEMBER_NUMBER_LOOKUP_ONLY)
        member = find_by_number(session, member_number)
        if member is None or member.erased_at is not None:
            raise Refused(Reason.MEMBER_NOT_FOUND)
        return member
    if member_code is None:
        return None
    outcome = scan(
        session, member_code, intent="lookup", store_id=store.id, staff_id=staff.id if staff else None, at=at
    )
    if outcome.refusal is not None:
        return outcome.refusal
    if outcome.by_member_number:
        return Refused(Reason.MEMBER_NUMBER_LOOKUP_ONLY)
    assert outcome.member is not None
    return outcome.member


def _replayed(session: Session, refused: CouponRefused, code: str, store_id: int, transaction_id: str | None) -> Coupon:
    """A POS retrying the request that already redeemed this coupon (same store and transaction) gets the same
    answer again; anything else is the refusal."""
    coupon = find_coupon(session, code) if refused.reason == Reason.COUPON_USED and transaction_id else None
    redemption = live_redemption(session, coupon) if coupon else None
    if (
        coupon is None
        or redemption is None
        or (redemption.store_id, redemption.transaction_id)
        != (
            store_id,
            transaction_id,
        )
    ):
        raise refused
    return coupon


@bp.post("/coupons/undo")
@require_store_key(scope=SCOPE_COUPONS)
def undo(uow: UnitOfWork) -> ResponseReturnValue:
    body = json_object(required=False)
    code, staff_code = required_text(body, "code", 32), api_input.staff_code(body, required=True)
    session, at = uow.session, uow.now
    store, staff = _store_and_staff(session, staff_code)
    assert staff is not None
    coupon = undo_redemption(session, code, staff_id=staff.id, store_id=store.id, at=at, tz=uow.settings.tz)
    return jsonify({"coupon": coupon_json(session, coupon), "undone_at": at.isoformat()})


@bp.get("/members/<member_number>/coupons")
@require_store_key(scope=SCOPE_COUPONS)
def member_coupons(uow: UnitOfWork, member_number: str) -> ResponseReturnValue:
    if not member_number.isprintable():
        raise Refused(Reason.MEMBER_NOT_FOUND)
    session = uow.session
    member = find_by_number(session, member_number)
    if member is None:
        raise Refused(Reason.MEMBER_NOT_FOUND)
    usable = usable_coupons(session, member.id, uow.now)
    return jsonify(
        {"member_number": member.member_number, "coupons": [coupon_json(session, coupon) for coupon in usable]}
    )


@images.get("/img/coupon/<token>.png")
def coupon_image(token: str) -> Response:
    try:
        payload = read_link(runtime().settings, "coupon-image", token, max_age=IMAGE_MAX_AGE_SECONDS)
    except LinkInvalid:
        return Response(status=404)
    code = payload.get("c")
    if not isinstance(code, str) or not COUPON_CODE.match(code):
        return Response(status=404)
    response = Response(code128_png(code), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
