"""Coupons in the POS API (/api/v1, store key required): redeem a coupon at the till, undo it within 15 minutes,
list a member's usable coupons. Also the signed, expiring Code 128 image of a coupon the chat shows.

openapi/pos-api.yaml describes the API; tests check the answers against it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.barcode_images import code128_png
from bot.db import transaction
from bot.runtime import Runtime
from bot.services.membership.members import find_by_number
from bot.services.rewards.coupons import (
    CouponRefused,
    find_coupon,
    live_redemption,
    redeem_coupon,
    template_of,
    undo_redemption,
    usable_coupons,
)
from bot.services.staff.counter import UnknownStaff, find_active_staff
from bot.settings import Settings
from bot.web.api_auth import api_error, current_store, require_store_key
from bot.web.links import LinkInvalid, read_link, sign_link
from models import Coupon, Member, Staff, Store

log = logging.getLogger(__name__)

bp = Blueprint("api_coupons", __name__, url_prefix="/api/v1")
images = Blueprint("coupon_images", __name__)

# The HTTP status of each reason a redemption or an undo is refused (the reason is the `error` word).
STATUS = {
    "unknown": 404,
    "used": 409,
    "voided": 409,
    "not_redeemed": 409,
    "undo_window_passed": 409,
    "other_store": 403,
    "not_yet_valid": 422,
    "expired": 422,
    "foreign": 422,
    "min_spend": 422,
}
# A coupon image link works this long: a chat image LINE fetches again later still shows.
IMAGE_MAX_AGE_SECONDS = 24 * 60 * 60
COUPON_CODE = re.compile(r"^CP\d{12}$")


class _BadRequest(Exception):
    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message, self.message_en = message, message_en


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["runtime"]
    return runtime


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.get_data(cache=True) else {}
    if not isinstance(body, dict):
        raise _BadRequest("請以 JSON 物件傳送資料", "The body must be a JSON object.")
    return body


def _text(body: dict[str, Any], field: str, *, required: bool, max_length: int = 100) -> str | None:
    value = body.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or not value.isprintable():
        raise _BadRequest(f"請提供 {field}", f"{field} is required (a non-empty string of at most {max_length}).")
    return value.strip()


def _spend(body: dict[str, Any]) -> int | None:
    spend = body.get("spend")
    if spend is not None and (isinstance(spend, bool) or not isinstance(spend, int) or spend < 0):
        raise _BadRequest("spend 必須是 0 以上的整數（新台幣元）", "spend must be a whole number of NT$, 0 or more.")
    return spend


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


def _refused(exc: CouponRefused) -> ResponseReturnValue:
    return api_error(STATUS.get(exc.reason, 409), exc.reason, exc.message, exc.message_in("en"))


def _member_not_found() -> ResponseReturnValue:
    return api_error(404, "member_not_found", "查無此會員編號", "No member has this member number.")


def _store_and_staff(session: Session, staff_code: str | None) -> tuple[Store, Staff | None]:
    store = session.get(Store, current_store().id)
    assert store is not None
    return store, find_active_staff(session, store, staff_code) if staff_code else None


@bp.errorhandler(_BadRequest)
def _bad_request(exc: _BadRequest) -> ResponseReturnValue:
    return api_error(400, "invalid_request", exc.message, exc.message_en)


@bp.errorhandler(UnknownStaff)
def _unknown_staff(exc: UnknownStaff) -> ResponseReturnValue:
    return api_error(422, "unknown_staff", exc.message, "No active staff member with this code works at this store.")


@bp.errorhandler(CouponRefused)
def _coupon_refused(exc: CouponRefused) -> ResponseReturnValue:
    return _refused(exc)


@bp.post("/coupons/redeem")
@require_store_key()
def redeem() -> ResponseReturnValue:
    body = _body()
    code = _text(body, "code", required=True, max_length=32)
    staff_code = _text(body, "staff_code", required=False)
    member_number = _text(body, "member_number", required=False, max_length=32)
    transaction_id = _text(body, "transaction_id", required=False)
    spend = _spend(body)
    assert code is not None
    at = datetime.now(UTC)
    with transaction(_runtime().sessions) as session:
        store, staff = _store_and_staff(session, staff_code)
        member = find_by_number(session, member_number) if member_number else None
        if member_number and member is None:
            return _member_not_found()
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
            )
        except CouponRefused as refused:
            coupon = _replayed(session, refused, code, store.id, transaction_id)
        assert coupon.redeemed_at is not None
        answer = {"coupon": coupon_json(session, coupon), "redeemed_at": coupon.redeemed_at.isoformat()}
    log.info("coupon redeemed at store %s", store.code)
    return jsonify(answer)


def _replayed(session: Session, refused: CouponRefused, code: str, store_id: int, transaction_id: str | None) -> Coupon:
    """A POS retrying the request that already redeemed this coupon (same store and transaction) gets the same
    answer again; anything else is the refusal."""
    coupon = find_coupon(session, code) if refused.reason == "used" and transaction_id else None
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
@require_store_key()
def undo() -> ResponseReturnValue:
    body = _body()
    code = _text(body, "code", required=True, max_length=32)
    staff_code = _text(body, "staff_code", required=True)
    assert code is not None
    at = datetime.now(UTC)
    with transaction(_runtime().sessions) as session:
        store, staff = _store_and_staff(session, staff_code)
        assert staff is not None
        coupon = undo_redemption(session, code, staff_id=staff.id, store_id=store.id, at=at)
        answer = {"coupon": coupon_json(session, coupon), "undone_at": at.isoformat()}
    return jsonify(answer)


@bp.get("/members/<member_number>/coupons")
@require_store_key()
def member_coupons(member_number: str) -> ResponseReturnValue:
    if not member_number.isprintable():
        return _member_not_found()
    with transaction(_runtime().sessions) as session:
        member = find_by_number(session, member_number)
        if member is None:
            return _member_not_found()
        usable = usable_coupons(session, member.id, datetime.now(UTC))
        return jsonify(
            {"member_number": member.member_number, "coupons": [coupon_json(session, coupon) for coupon in usable]}
        )


def coupon_image_url(settings: Settings, code: str) -> str:
    """The absolute URL of a signed Code 128 PNG of a coupon code, valid for a day (LINE's image messages)."""
    token = sign_link(settings, "coupon-image", {"c": code})
    return f"{settings.public_base_url}/img/coupon/{token}.png"


@images.get("/img/coupon/<token>.png")
def coupon_image(token: str) -> Response:
    try:
        payload = read_link(_runtime().settings, "coupon-image", token, max_age=IMAGE_MAX_AGE_SECONDS)
    except LinkInvalid:
        return Response(status=404)
    code = payload.get("c")
    if not isinstance(code, str) or not COUPON_CODE.match(code):
        return Response(status=404)
    response = Response(code128_png(code), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
