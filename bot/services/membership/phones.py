"""Phone numbers in one form, E.164, so that 0912-345-678 and +886912345678 are the same person."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "TW"


class InvalidPhoneNumber(ValueError):
    """Not a mobile number we can send a code to."""


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """Parse a phone number as people type it and return it in E.164 (+886912345678)."""
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber("手機號碼格式不正確") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber("手機號碼格式不正確")
    number_type = phonenumbers.number_type(parsed)
    if number_type not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise InvalidPhoneNumber("請輸入手機號碼")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """+886912345678 -> +886*****5678, for screens and logs that must not show the number."""
    return e164[:4] + "*" * max(0, len(e164) - 8) + e164[-4:]


def mask_phone_local(e164: str) -> str:
    """+886912345678 -> 0912-***-678, the way a Taiwanese counter shows a member's mobile without revealing it;
    a number from elsewhere is masked as `mask_phone` does."""
    if e164.startswith("+886") and len(e164) == 13 and e164[4:].isdigit():
        national = "0" + e164[4:]
        return f"{national[:4]}-***-{national[-3:]}"
    return mask_phone(e164)
