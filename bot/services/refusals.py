"""Why a service refuses: one reason code per refusal, raised as `Refused(reason, **params)`.

Services say only *why* (a `Reason`) and the values the text needs (`params`, e.g. `left=3`); the text people read
(bot/refusal_texts.py, zh-TW with English in the catalogue) and the HTTP status (bot/web/api_errors.py for the POS
API, bot/web/pages.py for the shopper's pages) are chosen at the edge. A reason's value is the machine word the POS
API answers as `error` where it answers one, so those values never change.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Every reason any service refuses a request for."""

    # Joining and members
    PHONE_TAKEN = "phone_taken"
    ALREADY_JOINED = "already_joined"
    MEMBER_NOT_FOUND = "member_not_found"
    ALREADY_ERASED = "already_erased"
    # The member's e-invoice mobile barcode carrier (手機條碼)
    CARRIER_INVALID = "carrier_invalid"
    # Binding a LINE account to a membership
    MEMBER_ERASED_CANNOT_BIND = "member_erased_cannot_bind"
    LINE_USER_BOUND_ELSEWHERE = "line_user_bound_elsewhere"
    MEMBER_BOUND_ELSEWHERE = "member_bound_elsewhere"
    MEMBER_ALREADY_BOUND = "member_already_bound"
    NOT_BOUND = "not_bound"
    # Counter bind codes
    BIND_CODE_UNAVAILABLE = "code_unavailable"
    BIND_CODE_WRONG = "bind_code_wrong"
    BIND_CODE_USED = "bind_code_used"
    BIND_CODE_EXPIRED = "bind_code_expired"
    BIND_CODE_TOO_MANY_TRIES = "bind_code_too_many_tries"
    # One-time SMS codes
    TOO_MANY_CODES_FOR_PHONE = "too_many_codes_for_phone"
    TOO_MANY_CODES_FOR_USER = "too_many_codes_for_user"
    SMS_CODE_FORMAT = "sms_code_format"
    SMS_CODE_WRONG = "sms_code_wrong"
    SMS_CODE_DEAD = "sms_code_dead"
    SMS_CODE_EXPIRED = "sms_code_expired"
    SMS_CODE_USED = "sms_code_used"
    SMS_CODE_UNKNOWN = "sms_code_unknown"
    # LINE's account-link flow
    LINK_TOKEN_UNKNOWN = "link_token_unknown"
    LINK_TOKEN_SPENT = "link_token_spent"
    LINE_USER_ALREADY_BOUND = "line_user_already_bound"
    PHONE_NOT_VERIFIED = "phone_not_verified"
    NO_MEMBER_WITH_PHONE = "no_member_with_phone"
    ACCOUNT_LINK_FAILED = "account_link_failed"
    NONCE_UNKNOWN = "nonce_unknown"
    NONCE_USED = "nonce_used"
    NONCE_EXPIRED = "nonce_expired"
    NONCE_NOT_YOURS = "nonce_not_yours"
    # Staff and store keys
    UNKNOWN_STAFF = "unknown_staff"
    STORE_UNKNOWN = "store_unknown"
    API_KEY_NAME_INVALID = "api_key_name_invalid"
    API_KEY_UNKNOWN = "api_key_unknown"
    API_KEY_SCOPES_INVALID = "api_key_scopes_invalid"
    SCOPE_MISSING = "scope_missing"
    # Staff accounts and the back office
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LOCKED = "sign_in_locked"
    STAFF_CODE_INVALID = "staff_code_invalid"
    STAFF_CODE_TAKEN = "staff_code_taken"
    STAFF_NAME_INVALID = "staff_name_invalid"
    STAFF_ROLE_INVALID = "staff_role_invalid"
    STAFF_STORE_REQUIRED = "staff_store_required"
    STAFF_NOT_FOUND = "staff_not_found"
    STAFF_OUTSIDE_STORE = "staff_outside_store"
    PASSWORD_TOO_SHORT = "password_too_short"
    PASSWORD_WRONG = "password_wrong"
    LAST_ADMIN = "last_admin"
    STORE_CODE_INVALID = "store_code_invalid"
    STORE_CODE_TAKEN = "store_code_taken"
    STORE_FIELD_INVALID = "store_field_invalid"
    # The marketer's console
    SEGMENT_IN_USE = "segment_in_use"
    SEGMENT_USED_BY_TAG = "segment_used_by_tag"
    API_KEY_NAME_TAKEN = "api_key_name_taken"
    # The member barcode
    # What the scanner is told for a code that leads to no member, whether its member id is unknown or its code
    # forged: telling those apart would say which member ids exist. The scan log keeps which it was.
    CODE_INVALID = "code_invalid"
    CODE_UNKNOWN = "code_unknown"
    CODE_FORGED = "code_forged"
    CODE_EXPIRED = "code_expired"
    CODE_USED = "code_used"
    MEMBER_NUMBER_LOOKUP_ONLY = "member_number_lookup_only"
    # The points and stamps ledger
    INSUFFICIENT_POINTS = "insufficient_points"
    INSUFFICIENT_STAMPS = "insufficient_stamps"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    # Purchases and refunds
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    PURCHASE_NOT_FOUND = "purchase_not_found"
    REFUND_EXCEEDS_PURCHASE = "refund_exceeds_purchase"
    PURCHASE_UNDO_WINDOW_PASSED = "purchase_undo_window_passed"
    PURCHASE_ALREADY_UNDONE = "purchase_already_undone"
    # Stamp cards
    DAILY_LIMIT_REACHED = "daily_limit_reached"
    NO_STAMP_CARD = "no_stamp_card"
    STAMP_CARD_UNAVAILABLE = "stamp_card_unavailable"
    # Coupons (the POS API has always answered these bare words)
    COUPON_INACTIVE = "inactive"
    COUPON_ENDED = "ended"
    COUPON_SOLD_OUT = "sold_out"
    COUPON_MEMBER_LIMIT = "member_limit"
    COUPON_MEMBER_ERASED = "member_erased"
    COUPON_UNKNOWN = "unknown"
    COUPON_NOT_YET_VALID = "not_yet_valid"
    COUPON_EXPIRED = "expired"
    COUPON_VOIDED = "voided"
    COUPON_USED = "used"
    COUPON_FOREIGN = "foreign"
    COUPON_MEMBER_REQUIRED = "member_required"
    COUPON_MIN_SPEND = "min_spend"
    COUPON_NOT_REDEEMED = "not_redeemed"
    COUPON_UNDO_WINDOW_PASSED = "undo_window_passed"
    COUPON_OTHER_STORE = "other_store"
    COUPON_UNAVAILABLE = "coupon_unavailable"
    # Games (lucky draw, scratch card)
    GAME_NOT_RUNNING = "game_not_running"
    NO_PLAYS_LEFT = "no_plays_left"


class Refused(Exception):
    """A request a service will not carry out: `reason` says why, `params` fill the text shown for it."""

    def __init__(self, reason: Reason, **params: Any) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.params = params

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, **{self.params!r})"
