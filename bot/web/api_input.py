"""Reading a POS API request's JSON body: one set of checks for every endpoint, each failure a `BadRequest`
(400 `invalid_request`, bot/web/api_errors.py) naming the field in zh-TW and English."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import request

from bot.web.api_errors import BadRequest

NOT_AN_OBJECT = "請以 JSON 物件傳送資料"
NOT_TEXT = "{name} 必須是 1 到 {max_length} 字的文字"
NOT_A_COUNT = "{name} 必須是 {low} 到 {high} 的整數"
NOT_A_COUNT_FROM = "{name} 必須是 {low} 以上的整數"
NOT_A_CHOICE = "{name} 必須是 {choices} 其中之一"
# staff.code is at most this long.
STAFF_CODE_MAX_LENGTH = 32


def json_object(*, required: bool = True) -> dict[str, Any]:
    """The JSON object sent; {} for no body at all when the body is not required."""
    if not required and not request.get_data(cache=True):
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(NOT_AN_OBJECT)
    return body


def text(body: dict[str, Any], name: str, max_length: int, *, required: bool = True) -> str | None:
    """A field of printable text, 1 to `max_length` characters, stripped; None when absent and not required."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or not value.isprintable():
        raise BadRequest(NOT_TEXT, name=name, max_length=max_length)
    return value.strip()


def required_text(body: dict[str, Any], name: str, max_length: int) -> str:
    """A field of text that must be there (see `text`)."""
    value = text(body, name, max_length)
    assert value is not None
    return value


def staff_code(body: dict[str, Any], *, required: bool) -> str | None:
    """The clerk's `staff_code` (whether it names an active clerk of the store is the service's to say)."""
    return text(body, "staff_code", STAFF_CODE_MAX_LENGTH, required=required)


def count(body: dict[str, Any], name: str, low: int, high: int | None = None, *, required: bool = True) -> int | None:
    """A whole number from `low` to `high` (no upper bound when `high` is None); None when absent and not required."""
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        if high is None:
            raise BadRequest(NOT_A_COUNT_FROM, name=name, low=low)
        raise BadRequest(NOT_A_COUNT, name=name, low=low, high=high)
    return value


def required_count(body: dict[str, Any], name: str, low: int, high: int) -> int:
    """A whole number that must be there (see `count`)."""
    value = count(body, name, low, high)
    assert value is not None
    return value


def choice(body: dict[str, Any], name: str, choices: Sequence[str], default: str) -> str:
    """One of `choices`; `default` when the field is absent."""
    value = body.get(name, default)
    if not isinstance(value, str) or value not in choices:
        raise BadRequest(NOT_A_CHOICE, name=name, choices=", ".join(choices))
    return value
