"""Schemathesis throws generated requests (valid and not) at every operation in openapi/pos-api.yaml, through the
Flask app with a live store key: no answer may be a server error, and every answer must match the description."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from sqlalchemy import select

from bot.db import transaction
from bot.services.barcode import codes as barcode
from models import Member, Store
from tests.factories import make_member
from tests.pos import SPEC_PATH, open_shop

pytestmark = pytest.mark.fuzz

schema = schemathesis.openapi.from_path(SPEC_PATH)
# Generated strings include NUL (Schemathesis' default, kept explicit here). Unpaired surrogates are left out by
# Hypothesis' text strategies; tests/web/test_pos_unstorable_text.py sends them to every field, path and key.
schema.config.generation.allow_x00 = True


@pytest.fixture
def store_key(runtime) -> dict[str, str]:
    """A store with clerks and its key, and a member M000001 (the spec's example) for requests to find. The store
    also sells online, so the spec's online purchase example (by member number) goes through."""
    shop = open_shop(runtime.sessions)
    with transaction(runtime.sessions) as session:
        store = session.get(Store, shop.store_id)
        assert store is not None
        store.is_online = True
    make_member(runtime.sessions, points=50)
    return shop.auth


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_generated_request_breaks_the_pos_api(case, app, store_key):
    case.call_and_validate(app=app, headers=store_key, checks=[not_a_server_error, response_schema_conformance])


# What the fuzzer found (on PostgreSQL), kept as plain examples.


def test_a_code_no_member_can_have_is_unknown_not_a_crash(client, runtime, store_key):
    with transaction(runtime.sessions) as session:
        member = session.scalars(select(Member)).one()
        barcode.ensure_key(session, member)
    beyond_integer = "9999999999" + "12345678"  # a "member id" PostgreSQL's INTEGER cannot hold
    not_ascii_digits = f"{member.id:010d}" + "١٢٣٤٥٦٧٨"  # digits, but Arabic-Indic ones

    answers = [
        client.post("/api/v1/scan", json={"code": code, "intent": "transaction"}, headers=store_key)
        for code in (beyond_integer, not_ascii_digits)
    ]

    assert [(a.status_code, a.get_json()["error"]) for a in answers] == [(422, "code_invalid")] * 2


def test_text_with_a_nul_character_is_refused_not_a_crash(client, store_key):
    in_the_body = client.post("/api/v1/members/M000001/erase", json={"staff_code": "\x00"}, headers=store_key)
    in_the_path = client.get("/api/v1/members/M%00", headers=store_key)

    assert (in_the_body.status_code, in_the_body.get_json()["error"]) == (400, "invalid_request")
    assert (in_the_path.status_code, in_the_path.get_json()["error"]) == (404, "member_not_found")


def test_json_nested_too_deep_to_parse_is_refused_not_a_crash(client, store_key):
    deep = "[" * 50_000 + "]" * 50_000

    response = client.post("/api/v1/purchases", data=deep, headers={**store_key, "Content-Type": "application/json"})

    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_request")
