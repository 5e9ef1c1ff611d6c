"""The POS API's purchases and refunds (/api/v1, store key required), from store tills and the online shop.

The views check the body's shape and hand it to bot.services.rewards.purchases / .refunds;
openapi/pos-api.yaml describes both endpoints.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from bot.services.refusals import Refused
from bot.services.rewards.purchases import PurchaseRequest, PurchaseResult, record_purchase
from bot.services.rewards.refunds import RefundRequest, record_refund
from bot.services.staff.api_keys import SCOPE_SCAN
from bot.uow import UnitOfWork
from bot.web import api_errors
from bot.web.api_auth import current_store, require_store_key
from bot.web.api_errors import BadRequest
from bot.web.api_input import choice, json_object, required_count, required_text, staff_code, text

bp = Blueprint("api_purchases", __name__, url_prefix="/api/v1")
api_errors.install(bp)

MAX_AMOUNT = 10_000_000
MAX_ITEMS = 200
CHANNELS = ("pos", "online")


def _items(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = body.get("items")
    if items is None:
        return None
    if not isinstance(items, list) or len(items) > MAX_ITEMS or not all(isinstance(i, dict) for i in items):
        raise BadRequest("items 必須是商品物件的清單")
    return [
        {
            "sku": required_text(item, "sku", 64),
            "name": required_text(item, "name", 200),
            "quantity": required_count(item, "quantity", 1, 100_000),
            "price": required_count(item, "price", 0, MAX_AMOUNT),
        }
        for item in items
    ]


def _purchase_request(body: dict[str, Any]) -> PurchaseRequest:
    channel = choice(body, "channel", CHANNELS, "pos")
    member_code = text(body, "member_code", 64, required=False)
    member_number = text(body, "member_number", 32, required=False)
    if (member_code is None) == (member_number is None):
        raise BadRequest("請提供 member_code（掃描的會員條碼）或 member_number 其中之一")
    return PurchaseRequest(
        transaction_id=required_text(body, "transaction_id", 100),
        amount=required_count(body, "amount", 1, MAX_AMOUNT),
        channel=channel,
        member_code=member_code,
        member_number=member_number,
        staff_code=staff_code(body, required=False),
        items=_items(body),
    )


def _answer(result: PurchaseResult) -> ResponseReturnValue:
    """201 for a new record, 200 with `Idempotent-Replayed` for the stored answer to the same request."""
    response = jsonify(result.body)
    response.status_code = 200 if result.replayed else 201
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/purchases")
@require_store_key(scope=SCOPE_SCAN)
def create_purchase(uow: UnitOfWork) -> ResponseReturnValue:
    purchase = _purchase_request(json_object())
    try:
        result = record_purchase(uow.session, current_store().id, purchase, at=uow.now, tz=uow.settings.tz)
    except Refused as refused:
        # Answered, not raised, so the unit of work commits what the service left: a refused scan's log entry.
        return api_errors.answer_refusal(refused)
    return _answer(result)


@bp.post("/refunds")
@require_store_key(scope=SCOPE_SCAN)
def create_refund(uow: UnitOfWork) -> ResponseReturnValue:
    body = json_object()
    refund = RefundRequest(
        required_text(body, "transaction_id", 100),
        required_text(body, "refund_id", 100),
        required_count(body, "amount", 1, MAX_AMOUNT),
    )
    return _answer(record_refund(uow.session, current_store().id, refund, at=uow.now, tz=uow.settings.tz))
