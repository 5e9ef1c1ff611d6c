"""The counter page (/counter): a clerk or store manager scans a member's rotating code and serves them.

The page (counter.html + counter.js) calls the small JSON endpoints below with the CSRF header; each is one unit of
work behind `@staff_page("clerk", "manager")`. The store is always the signed-in staff member's own
(`staff.store_id`), never one the request names.

How the rotating code is used, as in the POS API: a scan shows the member (a look-up, the code is not spent); a
purchase or a smart stamp spends the code (the shopper's card rolls over to a new one, so a further purchase or stamp
needs a fresh scan); a coupon is redeemed with the code looked up, not spent, so a coupon and the purchase it goes
with need only one scan. A member number or phone number only looks a member up: spending with it is refused
(`member_number_lookup_only`).

Every answer is JSON: `{"ok": true, "message": …, "member": {…}}` or `{"ok": false, "error": reason, "message": …}`
with the refusal's text (bot/refusal_texts.py) in the staff member's language and the POS API's status for it.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from datetime import datetime, tzinfo
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.barcode_images import carrier_barcode_png
from bot.services.barcode.scanning import scan
from bot.services.membership.carrier import carrier_of
from bot.services.membership.members import find_by_number, find_by_phone, summary
from bot.services.membership.phones import InvalidPhoneNumber, mask_phone_local, normalise_phone
from bot.services.refusals import Reason, Refused
from bot.services.rewards.counter_purchases import preview_purchase, undo_purchase
from bot.services.rewards.coupons import redeem_coupon, template_of, undo_redemption, usable_coupons
from bot.services.rewards.purchases import PurchaseRequest, find_purchase, record_purchase
from bot.services.rewards.stamp_views import card_views
from bot.services.rewards.stamps_at_till import stamp_at_till
from bot.services.rewards.tiers import tier_of
from bot.uow import UnitOfWork
from bot.web.api_errors import STATUS
from bot.web.backoffice import attempt, message_page, refusal_text, render_page, staff_page, t
from models import Member, Staff, Store

log = logging.getLogger(__name__)

bp = Blueprint("counter", __name__)

CODE_MAX = 64
QUERY_MAX = 32
COUPON_CODE_MAX = 32
MAX_AMOUNT = 10_000_000
# The page makes these: a UUID, so two tabs or two tills never share one.
PAGE_ID = re.compile(r"[0-9a-fA-F-]{16,64}")
TRANSACTION_PREFIX = "counter-"
PHONE_LIKE = re.compile(r"\+?[0-9][0-9 -]{7,18}")

NO_STORE = "您的帳號沒有所屬門市，無法使用櫃台"
FIELD_INVALID = "「{field}」最多 {length} 個字，且不能含控制字元"
AMOUNT_INVALID = "請輸入 1 到 10,000,000 之間的整數金額"
PAGE_ID_INVALID = "頁面資料有誤，請重新整理頁面"
MEMBER_SHOWN = "已顯示會員資料"
LOOKUP_ONLY_SHOWN = "以會員編號或手機查詢：僅供查看，集點或折抵請掃描會員條碼"
PURCHASE_RECORDED = "已登錄消費 NT${amount}，獲得 {points} 點"
PURCHASE_REPLAYED = "這筆消費先前已登錄，沒有重複記錄"
PURCHASE_UNDONE = "已取消消費，扣回 {points} 點"
PURCHASE_UNDO_REPLAYED = "這筆消費先前已取消，沒有重複扣點"
STAMPED = "已蓋章"
COUPON_REDEEMED = "已使用優惠券「{name}」"
COUPON_UNDONE = "已取消使用優惠券「{name}」"
FIELD_NAMES = {
    "code": "條碼",
    "query": "會員編號或手機",
    "coupon_code": "優惠券代碼",
    "member_number": "會員編號",
}


class BadInput(Exception):
    """A field the page sent is missing, too long, or holds control characters: 400 with this text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _body() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested too deep to parse: json raises this, not the ValueError `silent` covers
        return {}
    return body if isinstance(body, dict) else {}


def _text(body: dict[str, Any], name: str, max_length: int, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise BadInput(t(FIELD_INVALID, field=t(FIELD_NAMES[name]), length=max_length))
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or not value.isprintable():
        raise BadInput(t(FIELD_INVALID, field=t(FIELD_NAMES[name]), length=max_length))
    return value.strip()


def _required(body: dict[str, Any], name: str, max_length: int) -> str:
    value = _text(body, name, max_length)
    assert value is not None
    return value


def _amount(body: dict[str, Any]) -> int:
    value = body.get("amount")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 9:
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_AMOUNT:
        raise BadInput(t(AMOUNT_INVALID))
    return value


def _page_id(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not PAGE_ID.fullmatch(value):
        raise BadInput(t(PAGE_ID_INVALID))
    return value.lower()


def _refused(refused: Refused) -> ResponseReturnValue:
    log.info("counter refused: %s", refused.reason)
    status = STATUS.get(refused.reason, 409)
    return jsonify({"ok": False, "error": refused.reason.value, "message": refusal_text(refused)}), status


def _bad(exc: BadInput) -> ResponseReturnValue:
    return jsonify({"ok": False, "error": "invalid_input", "message": exc.message}), 400


bp.register_error_handler(BadInput, _bad)


def _store(uow: UnitOfWork, staff: Staff) -> Store | None:
    return uow.session.get(Store, staff.store_id) if staff.store_id is not None else None


def _carrier(member: Member) -> dict[str, Any] | None:
    """The member's e-invoice carrier (手機條碼) with its Code 39 image as a data URL, if they saved one."""
    carrier = carrier_of(member)
    if not carrier:
        return None
    image = "data:image/png;base64," + base64.b64encode(carrier_barcode_png(carrier)).decode("ascii")
    return {"code": carrier, "image": image}


def member_json(session: Session, member: Member, *, at: datetime, tz: tzinfo, spendable: bool) -> dict[str, Any]:
    """The member as the counter shows them: no full phone number, the carrier as a barcode."""
    about = summary(session, member)
    tier = tier_of(session, member.tier)
    coupons = []
    for coupon in usable_coupons(session, member.id, at):
        template = template_of(session, coupon)
        coupons.append(
            {
                "code": coupon.code,
                "name": template.name,
                "min_spend": template.min_spend,
                "expires_on": coupon.expires_at.astimezone(tz).date().isoformat() if coupon.expires_at else None,
            }
        )
    return {
        "member_number": about.member_number,
        "name": about.name or t("（未提供姓名）"),
        "tier": tier.code,
        "tier_label": t(tier.label),
        "points": about.points,
        "phone": mask_phone_local(member.phone_e164) if member.phone_e164 else None,
        "stamp_cards": [
            {"name": card.name, "stamps": card.stamps, "stamps_to_fill": card.stamps_to_fill}
            for card in card_views(session, member.id, at, tz)
        ],
        "coupons": coupons,
        "carrier": _carrier(member),
        "spendable": spendable,
    }


def _answer(uow: UnitOfWork, member: Member | None, message: str, *, spendable: bool, **extra: Any) -> Response:
    card = member_json(uow.session, member, at=uow.now, tz=uow.settings.tz, spendable=spendable) if member else None
    return jsonify({"ok": True, "message": message, "member": card, **extra})


def _no_store() -> ResponseReturnValue:
    return jsonify({"ok": False, "error": "no_store", "message": t(NO_STORE)}), 403


@bp.get("/counter")
@staff_page("clerk", "manager")
def page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    store = _store(uow, staff)
    if store is None:
        return message_page(t(NO_STORE), 403)
    return render_page("staff/counter.html", store=store, transaction_id=str(uuid.uuid4()))


@bp.post("/counter/scan")
@staff_page("clerk", "manager")
def scan_member(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """A scanned member code (or a member number typed into the scan field): show the member; nothing is spent."""
    code = _required(_body(), "code", CODE_MAX)
    if staff.store_id is None:
        return _no_store()
    outcome = scan(uow.session, code, intent="lookup", store_id=staff.store_id, staff_id=staff.id, at=uow.now)
    if outcome.refusal is not None:
        return _refused(outcome.refusal)  # the scan log keeps the refused scan: the unit of work commits
    assert outcome.member is not None
    spendable = not outcome.by_member_number
    return _answer(uow, outcome.member, t(MEMBER_SHOWN if spendable else LOOKUP_ONLY_SHOWN), spendable=spendable)


@bp.post("/counter/lookup")
@staff_page("clerk", "manager")
def lookup(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """A member number or mobile number typed by the clerk: show the member, for looking only."""
    query = _required(_body(), "query", QUERY_MAX)
    if staff.store_id is None:
        return _no_store()
    member: Member | None
    if PHONE_LIKE.fullmatch(query):
        try:
            member = find_by_phone(uow.session, normalise_phone(query))
        except InvalidPhoneNumber:
            member = None
    else:
        member = find_by_number(uow.session, query.upper())
    if member is None or member.erased_at is not None:
        return _refused(Refused(Reason.MEMBER_NOT_FOUND))
    return _answer(uow, member, t(LOOKUP_ONLY_SHOWN), spendable=False)


@bp.post("/counter/purchase/preview")
@staff_page("clerk", "manager")
def purchase_preview(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The points and stamps a purchase would earn the member on screen; nothing is recorded."""
    body = _body()
    number, amount = _required(body, "member_number", QUERY_MAX), _amount(body)
    if staff.store_id is None:
        return _no_store()
    member = find_by_number(uow.session, number)
    if member is None or member.erased_at is not None:
        return _refused(Refused(Reason.MEMBER_NOT_FOUND))
    preview = preview_purchase(uow.session, member, amount, at=uow.now, tz=uow.settings.tz)
    return jsonify(
        {
            "ok": True,
            "amount": preview.amount,
            "points": preview.points,
            "stamps": [
                {
                    "name": stamp.name,
                    "stamps": stamp.stamps,
                    "stamps_to_fill": stamp.stamps_to_fill,
                    "adding": stamp.adding,
                    "limited": stamp.limited,
                }
                for stamp in preview.stamps
            ],
        }
    )


@bp.post("/counter/purchase")
@staff_page("clerk", "manager")
def purchase(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Record a purchase with the scanned code (spent by it). The page's transaction id makes a double submit answer
    the same, recorded once."""
    body = _body()
    code, amount = _text(body, "code", CODE_MAX, required=False), _amount(body)
    transaction_id = TRANSACTION_PREFIX + _page_id(body, "transaction_id")
    if staff.store_id is None:
        return _no_store()
    if code is None:
        return _refused(Refused(Reason.MEMBER_NUMBER_LOOKUP_ONLY))
    purchase_request = PurchaseRequest(
        transaction_id=transaction_id, amount=amount, channel="pos", member_code=code, staff_code=staff.code
    )
    try:
        # Not in a savepoint of ours: a refused scan's log entry stays (the service commits its own savepoint).
        result = record_purchase(uow.session, staff.store_id, purchase_request, at=uow.now, tz=uow.settings.tz)
    except Refused as refused:
        return _refused(refused)
    recorded = find_purchase(uow.session, staff.store_id, transaction_id)
    assert recorded is not None
    member = uow.session.get(Member, recorded.member_id)
    message = (
        t(PURCHASE_REPLAYED)
        if result.replayed
        else t(PURCHASE_RECORDED, amount=f"{amount:,}", points=result.body["points_earned"])
    )
    return _answer(
        uow,
        member,
        message,
        spendable=False,
        code_spent=True,
        replayed=result.replayed,
        points_earned=result.body["points_earned"],
        stamps=result.body["stamps"],
        tier_changed_to=result.body.get("tier_changed_to"),
        transaction_id=transaction_id.removeprefix(TRANSACTION_PREFIX),
    )


@bp.post("/counter/purchase/undo")
@staff_page("clerk", "manager")
def purchase_undo(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Undo a purchase this store recorded from the page within the allowed minutes (a full refund)."""
    transaction_id = TRANSACTION_PREFIX + _page_id(_body(), "transaction_id")
    if staff.store_id is None:
        return _no_store()
    store_id, tz = staff.store_id, uow.settings.tz
    result = attempt(uow, lambda: undo_purchase(uow.session, store_id, transaction_id, at=uow.now, tz=tz))
    if isinstance(result, Refused):
        return _refused(result)
    recorded = find_purchase(uow.session, store_id, transaction_id)
    assert recorded is not None
    member = uow.session.get(Member, recorded.member_id)
    points = result.body.get("points_reversed", 0)
    message = t(PURCHASE_UNDO_REPLAYED) if result.replayed else t(PURCHASE_UNDONE, points=points)
    return _answer(uow, member, message, spendable=False)


@bp.post("/counter/stamp")
@staff_page("clerk", "manager")
def stamp(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The smart stamp: spend the scanned code and stamp every per-visit card once (as the POS API does)."""
    body = _body()
    code = _text(body, "code", CODE_MAX, required=False)
    key = "counter-stamp:" + _page_id(body, "idempotency_key")
    store = _store(uow, staff)
    if store is None:
        return _no_store()
    if code is None:
        return _refused(Refused(Reason.MEMBER_NUMBER_LOOKUP_ONLY))
    stamped = stamp_at_till(uow.session, store, staff, code, key, uow.now, uow.settings.tz)
    if isinstance(stamped, Refused):
        return _refused(stamped)
    return _answer(uow, stamped.member, t(STAMPED), spendable=False, code_spent=True, cards=stamped.cards)


@bp.post("/counter/coupons/redeem")
@staff_page("clerk", "manager")
def coupon_redeem(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Redeem a coupon (scanned or picked from the member's list) with the member's scanned code looked up, not
    spent, so the purchase it goes with still earns with the same scan."""
    body = _body()
    coupon_code = _required(body, "coupon_code", COUPON_CODE_MAX)
    code = _text(body, "code", CODE_MAX, required=False)
    number = _text(body, "member_number", QUERY_MAX, required=False)
    if staff.store_id is None:
        return _no_store()
    store_id = staff.store_id
    if number is not None and code is None:
        return _refused(Refused(Reason.MEMBER_NUMBER_LOOKUP_ONLY))
    member: Member | None = None
    if code is not None:
        outcome = scan(uow.session, code, intent="lookup", store_id=store_id, staff_id=staff.id, at=uow.now)
        if outcome.refusal is not None:
            return _refused(outcome.refusal)
        if outcome.by_member_number:
            return _refused(Refused(Reason.MEMBER_NUMBER_LOOKUP_ONLY))
        member = outcome.member
    member_id = member.id if member is not None else None
    redeemed = attempt(
        uow,
        lambda: redeem_coupon(
            uow.session,
            coupon_code,
            store_id=store_id,
            staff_id=staff.id,
            channel="clerk_scan",
            at=uow.now,
            member_id=member_id,
            tz=uow.settings.tz,
        ),
    )
    if isinstance(redeemed, Refused):
        return _refused(redeemed)
    owner = member or uow.session.get(Member, redeemed.member_id)
    name = template_of(uow.session, redeemed).name
    return _answer(
        uow,
        owner,
        t(COUPON_REDEEMED, name=name),
        spendable=member is not None,
        coupon={"code": redeemed.code, "name": name},
    )


@bp.post("/counter/coupons/undo")
@staff_page("clerk", "manager")
def coupon_undo(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Undo a coupon's redemption at this store within the allowed minutes."""
    coupon_code = _required(_body(), "coupon_code", COUPON_CODE_MAX)
    if staff.store_id is None:
        return _no_store()
    store_id = staff.store_id
    undone = attempt(
        uow,
        lambda: undo_redemption(
            uow.session, coupon_code, staff_id=staff.id, store_id=store_id, at=uow.now, tz=uow.settings.tz
        ),
    )
    if isinstance(undone, Refused):
        return _refused(undone)
    owner = uow.session.get(Member, undone.member_id)
    name = template_of(uow.session, undone).name
    return _answer(uow, owner, t(COUPON_UNDONE, name=name), spendable=False, coupon={"code": undone.code, "name": name})
