"""Every reason a service refuses for has one text, in zh-TW and (from the catalogue) in English, and every reason
the POS API answers has its status there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.i18n import gettext
from bot.refusal_texts import TEXTS, text_for
from bot.services.barcode.scanning import LOGGED, NOT_A_MEMBERS_CODE
from bot.services.refusals import Reason, Refused
from bot.web import api_errors, api_input
from tests.pos import openapi_spec

PARAMS = {
    "left": 3,
    "min_spend": "300",
    "store_code": "TPE01",
    "key_id": 7,
    "scope": "members",
    "scopes": "scan",
    "minutes": 15,
    "code": "C001",
    "length": 10,
    "field": "地址",
    "name": "常客",
}
# Errors the POS API answers at its door, before any service is asked.
EDGE_ONLY = {"unauthorized", "invalid_request", "rate_limited"}


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_a_zh_tw_text_and_an_english_translation(reason):
    refused = Refused(reason, **PARAMS)

    zh, en = text_for(refused, "zh-TW"), text_for(refused, "en")

    assert reason in TEXTS
    assert re.search(r"[\u4e00-\u9fff]", zh), zh
    assert en != zh and gettext(TEXTS[reason], "en") != TEXTS[reason], f"add English for {TEXTS[reason]!r}"
    assert "{" not in zh and "{" not in en  # every placeholder filled


def test_reason_values_are_snake_case_machine_words():
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", reason.value) for reason in Reason)


def _documented_error_words() -> set[str]:
    schemas = openapi_spec()["components"]["schemas"]
    return {
        word for schema in schemas.values() for word in schema.get("properties", {}).get("error", {}).get("enum", [])
    }


def test_every_error_the_pos_api_documents_comes_from_a_reason_with_a_status():
    answered = {api_errors.error_word(reason) for reason in api_errors.STATUS}

    assert _documented_error_words() - EDGE_ONLY <= answered


def test_every_reason_with_a_pos_status_answers_a_documented_error():
    documented = _documented_error_words()

    assert {api_errors.error_word(reason) for reason in api_errors.STATUS} <= documented
    assert all(status in (403, 404, 409, 422, 503) for status in api_errors.STATUS.values())


def test_every_reason_a_scan_is_refused_for_has_a_pos_status():
    answered = (set(LOGGED) - NOT_A_MEMBERS_CODE) | {Reason.CODE_INVALID}
    assert answered <= set(api_errors.STATUS)
    assert not NOT_A_MEMBERS_CODE & set(api_errors.STATUS)  # never answered as such: they would name member ids


def test_every_bad_request_text_of_the_pos_api_has_an_english_translation():
    root = Path(__file__).resolve().parents[2] / "bot" / "web"
    msgids = {value for name, value in vars(api_input).items() if name.isupper() and isinstance(value, str)}
    for path in root.glob("api_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "BadRequest" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    msgids.add(first.value)
    params = {"name": "amount", "max_length": 9, "low": 1, "high": 9, "choices": "a, b"}

    untranslated = {msgid for msgid in msgids if gettext(msgid, "en", **params) == msgid.format(**params)}

    assert len(msgids) >= 7 and not untranslated
