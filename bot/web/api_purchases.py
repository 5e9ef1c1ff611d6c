"""The POS API's purchases and refunds (/api/v1, store key required), from store tills and the online shop.

The views check the body's shape and hand it to bot.services.rewards.purchases / .refunds;
openapi/pos-api.yaml describes both endpoints.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from bot.db import transaction
from bot.runtime import Runtime
from bot.services.rewards.purchases import Answer, PurchaseRequest, record_purchase
from bot.services.rewards.refunds import RefundRequest, record_refund

# Imported here, not when answering: bot.tasks also delivers the pushes other services queue (stamp cards filled),
# once the transaction commits.
from bot.tasks import deliver_message
from bot.web.api_auth import api_error, current_store, require_store_key

bp = Blueprint("api_purchases", __name__, url_prefix="/api/v1")

MAX_AMOUNT = 10_000_000
MAX_ITEMS = 200
CHANNELS = ("pos", "online")


class _Invalid(Exception):
    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_en = message_en


@bp.errorhandler(_Invalid)
def _invalid(exc: _Invalid) -> ResponseReturnValue:
    return api_error(400, "invalid_request", exc.message, exc.message_en)


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["runtime"]
    return runtime


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _Invalid("請以 JSON 物件傳送資料", "The body must be a JSON object.")
    return body


def _text(body: dict[str, Any], name: str, max_length: int, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise _Invalid(
            f"{name} 必須是 1 到 {max_length} 字的文字", f"{name} must be text of 1 to {max_length} characters."
        )
    return value.strip()


def _count(body: dict[str, Any], name: str, low: int, high: int) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Invalid(f"{name} 必須是 {low} 到 {high} 的整數", f"{name} must be an integer from {low} to {high}.")
    return value


def _items(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = body.get("items")
    if items is None:
        return None
    if not isinstance(items, list) or len(items) > MAX_ITEMS or not all(isinstance(i, dict) for i in items):
        raise _Invalid("items 必須是商品物件的清單", "items must be a list of item objects.")
    return [
        {
            "sku": _text(item, "sku", 64),
            "name": _text(item, "name", 200),
            "quantity": _count(item, "quantity", 1, 100_000),
            "price": _count(item, "price", 0, MAX_AMOUNT),
        }
        for item in items
    ]


def _purchase_request(body: dict[str, Any]) -> PurchaseRequest:
    channel = body.get("channel", "pos")
    if channel not in CHANNELS:
        raise _Invalid("channel 必須是 pos 或 online", "channel must be pos or online.")
    member_code = _text(body, "member_code", 64, required=False)
    member_number = _text(body, "member_number", 32, required=False)
    if (member_code is None) == (member_number is None):
        raise _Invalid(
            "請提供 member_code（掃描的會員條碼）或 member_number 其中之一",
            "Send exactly one of member_code (the scanned barcode) and member_number.",
        )
    transaction_id = _text(body, "transaction_id", 100)
    assert transaction_id is not None
    return PurchaseRequest(
        transaction_id=transaction_id,
        amount=_count(body, "amount", 1, MAX_AMOUNT),
        channel=channel,
        member_code=member_code,
        member_number=member_number,
        staff_code=_text(body, "staff_code", 32, required=False),
        items=_items(body),
    )


def _respond(answer: Answer) -> ResponseReturnValue:
    for outbound_id in answer.outbox_ids:
        deliver_message(outbound_id)
    response = jsonify(answer.body)
    response.status_code = answer.status
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/purchases")
@require_store_key()
def create_purchase() -> ResponseReturnValue:
    purchase = _purchase_request(_body())
    runtime = _runtime()
    with transaction(runtime.sessions) as session:
        answer = record_purchase(session, current_store().id, purchase, at=datetime.now(UTC), tz=runtime.settings.tz)
    return _respond(answer)


@bp.post("/refunds")
@require_store_key()
def create_refund() -> ResponseReturnValue:
    body = _body()
    transaction_id, refund_id = _text(body, "transaction_id", 100), _text(body, "refund_id", 100)
    assert transaction_id is not None and refund_id is not None
    refund = RefundRequest(transaction_id, refund_id, _count(body, "amount", 1, MAX_AMOUNT))
    runtime = _runtime()
    with transaction(runtime.sessions) as session:
        answer = record_refund(session, current_store().id, refund, at=datetime.now(UTC), tz=runtime.settings.tz)
    return _respond(answer)
