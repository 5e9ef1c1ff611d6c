"""The POS API's refusals: the HTTP status (and `error` word) of each reason a service refuses for, and the one
JSON shape every /api/v1 error has: `{"error": …, "message": zh-TW, "message_en": English}`.

The texts come from bot/refusal_texts.py (English from the catalogue); `install(bp)` makes a blueprint answer every
`Refused` and `BadRequest` its views raise this way.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint
from werkzeug.exceptions import InternalServerError
from werkzeug.wrappers import Response

from bot.i18n import gettext
from bot.refusal_texts import text_for
from bot.services.refusals import Reason, Refused
from bot.web.api_auth import api_error

log = logging.getLogger(__name__)

# The status of each reason the POS API answers; the `error` word is the reason's value unless WIRE_WORDS says
# otherwise. A reason missing here is a bug in the API, answered as a server error.
STATUS: dict[Reason, int] = {
    Reason.MEMBER_NOT_FOUND: 404,
    Reason.UNKNOWN_STAFF: 422,
    Reason.SCOPE_MISSING: 403,
    # Members at the counter
    Reason.MEMBER_ERASED_CANNOT_BIND: 409,
    Reason.MEMBER_ALREADY_BOUND: 409,
    Reason.BIND_CODE_UNAVAILABLE: 503,
    Reason.NOT_BOUND: 409,
    Reason.ALREADY_ERASED: 409,
    # The member barcode
    Reason.CODE_INVALID: 422,
    Reason.CODE_EXPIRED: 422,
    Reason.CODE_USED: 409,
    Reason.MEMBER_NUMBER_LOOKUP_ONLY: 422,
    # Purchases and refunds
    Reason.IDEMPOTENCY_CONFLICT: 409,
    Reason.CHANNEL_NOT_ALLOWED: 422,
    Reason.PURCHASE_NOT_FOUND: 404,
    Reason.REFUND_EXCEEDS_PURCHASE: 422,
    # Stamps (a card that cannot be opened or rewarded just now: try again)
    Reason.DAILY_LIMIT_REACHED: 409,
    Reason.NO_STAMP_CARD: 409,
    Reason.STAMP_CARD_UNAVAILABLE: 503,
    Reason.COUPON_UNAVAILABLE: 503,
    # Coupons
    Reason.COUPON_UNKNOWN: 404,
    Reason.COUPON_USED: 409,
    Reason.COUPON_VOIDED: 409,
    Reason.COUPON_NOT_REDEEMED: 409,
    Reason.COUPON_UNDO_WINDOW_PASSED: 409,
    Reason.COUPON_OTHER_STORE: 403,
    Reason.COUPON_NOT_YET_VALID: 422,
    Reason.COUPON_EXPIRED: 422,
    Reason.COUPON_FOREIGN: 422,
    Reason.COUPON_MEMBER_REQUIRED: 422,
    Reason.COUPON_MIN_SPEND: 422,
}
# Where the API has always answered one word for several reasons (the message tells them apart).
WIRE_WORDS: dict[Reason, str] = {
    Reason.MEMBER_ERASED_CANNOT_BIND: "cannot_issue_code",
    Reason.MEMBER_ALREADY_BOUND: "cannot_issue_code",
    Reason.STAMP_CARD_UNAVAILABLE: "stamp_unavailable",
    Reason.COUPON_UNAVAILABLE: "stamp_unavailable",
}

INVALID_REQUEST = "invalid_request"


class BadRequest(Exception):
    """The request's body is not what the endpoint takes: 400 `invalid_request`, with a zh-TW msgid (English in the
    catalogue) and the values that fill it."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


def error_word(reason: Reason) -> str:
    """What the POS API answers as `error` for this reason."""
    return WIRE_WORDS.get(reason, reason.value)


def refused(refusal: Refused) -> tuple[Response, int]:
    """A service's refusal as the POS API answers it."""
    status = STATUS.get(refusal.reason)
    if status is None:
        raise InternalServerError(f"the POS API has no status for {refusal.reason!r}", original_exception=refusal)
    return api_error(status, error_word(refusal.reason), text_for(refusal, "zh-TW"), text_for(refusal, "en"))


def bad_request(exc: BadRequest) -> tuple[Response, int]:
    return api_error(
        400, INVALID_REQUEST, gettext(exc.msgid, "zh-TW", **exc.params), gettext(exc.msgid, "en", **exc.params)
    )


def answer_refusal(exc: Refused) -> tuple[Response, int]:
    """A refusal answered by a view that keeps what the request recorded (a refused scan's log entry): the view
    returns this instead of raising, so its unit of work still commits."""
    log.info("POS API refused: %s", exc.reason)
    return refused(exc)


def install(bp: Blueprint) -> None:
    """Answer every `Refused` and `BadRequest` the blueprint's views raise as a POS API error."""
    bp.register_error_handler(Refused, answer_refusal)
    bp.register_error_handler(BadRequest, bad_request)
