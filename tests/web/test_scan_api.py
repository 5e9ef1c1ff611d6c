"""The scan API: a rotating code finds its member, is spent once by a transaction, and old or forged codes fail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import transaction
from bot.refusal_texts import text_for
from bot.services.barcode import codes as barcode
from bot.services.barcode.codes import STEP_SECONDS, ScanRefused
from bot.services.barcode.scanning import scan
from bot.services.refusals import Reason, Refused
from models import Member, ScanLog
from tests.concurrency import race
from tests.factories import make_member
from tests.helpers import count
from tests.pos import assert_matches_openapi, open_shop

STEP = timedelta(seconds=STEP_SECONDS)


def _code(runtime, member_id: int, at: datetime) -> str:
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        assert member is not None
        return barcode.current_code(session, member, at).code


def _scan(client, shop, code: str, intent: str = "lookup"):
    response = client.post(
        "/api/v1/scan", json={"code": code, "intent": intent, "staff_code": "C001"}, headers=shop.auth
    )
    assert_matches_openapi(response, "/scan", "post")
    return response


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


def test_the_current_code_finds_the_member(client, runtime, shop, session):
    member = make_member(runtime.sessions, points=120)

    response = _scan(client, shop, _code(runtime, member.id, datetime.now(UTC)))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["member"]["member_number"], body["member"]["points"], body["code_spent"]) == ("M000001", 120, False)
    logged = session.scalars(select(ScanLog)).one()
    assert (logged.member_id, logged.store_id, logged.result, logged.staff_id) == (
        member.id,
        shop.store_id,
        "ok",
        shop.clerk_id,
    )


def test_a_look_up_may_repeat_but_a_second_transaction_scan_of_one_code_is_refused(client, runtime, shop):
    member = make_member(runtime.sessions)
    code = _code(runtime, member.id, datetime.now(UTC))

    statuses = [_scan(client, shop, code, intent).status_code for intent in ("lookup", "lookup", "transaction")]
    again = _scan(client, shop, code, "transaction")

    assert statuses == [200, 200, 200]
    assert again.status_code == 409
    assert again.get_json()["error"] == "code_used"
    assert again.get_json()["message"] == text_for(Refused(Reason.CODE_USED))


def test_a_code_from_two_steps_ago_is_refused_as_expired(client, runtime, shop):
    member = make_member(runtime.sessions)

    response = _scan(client, shop, _code(runtime, member.id, datetime.now(UTC) - 2 * STEP))

    assert (response.status_code, response.get_json()["error"]) == (422, "code_expired")


def test_a_forged_code_and_a_code_of_no_member_get_the_same_answer_and_the_log_tells_them_apart(
    client, runtime, shop, session
):
    member = make_member(runtime.sessions)
    genuine = _code(runtime, member.id, datetime.now(UTC))
    forged = genuine[:-8] + f"{(int(genuine[-8:]) + 1) % 10**8:08d}"
    nobodys = f"{member.id + 1000:010d}" + genuine[-8:]

    answers = [_scan(client, shop, code) for code in (forged, nobodys, "123")]

    assert len({(a.status_code, a.data) for a in answers}) == 1  # nothing tells which member ids exist
    assert (answers[0].status_code, answers[0].get_json()["error"]) == (422, "code_invalid")
    assert session.scalars(select(ScanLog.result).order_by(ScanLog.id)).all() == ["forged", "unknown", "unknown"]


def test_the_printed_member_number_looks_up_but_never_earns(client, runtime, shop):
    make_member(runtime.sessions)

    lookup = _scan(client, shop, "M000001")
    transaction_scan = _scan(client, shop, "M000001", "transaction")

    assert (lookup.status_code, lookup.get_json()["by_member_number"]) == (200, True)
    assert (transaction_scan.status_code, transaction_scan.get_json()["error"]) == (422, "member_number_lookup_only")


def test_scanning_needs_a_store_key_and_changes_nothing_without_one(client, runtime, shop, session):
    member = make_member(runtime.sessions)

    response = client.post("/api/v1/scan", json={"code": _code(runtime, member.id, datetime.now(UTC))})

    assert response.status_code == 401
    assert count(session, ScanLog) == 0


def test_a_bad_body_is_refused(client, shop):
    assert _scan(client, shop, "1" * 18, intent="refund").status_code == 400
    response = client.post("/api/v1/scan", data="not json", headers={**shop.auth, "Content-Type": "application/json"})
    assert response.status_code == 400


# The rules with a frozen clock, at the service.
FROZEN = datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("shown_at", "scanned_at", "accepted"),
    [
        (FROZEN, FROZEN, True),
        (FROZEN - STEP, FROZEN, True),  # one step of drift
        (FROZEN - 2 * STEP, FROZEN, False),
        (FROZEN + STEP, FROZEN, False),  # a code from the future is not this minute's
    ],
)
def test_codes_are_valid_in_their_step_and_the_one_before(runtime, shop, shown_at, scanned_at, accepted):
    member = make_member(runtime.sessions)
    code = _code(runtime, member.id, shown_at)

    with transaction(runtime.sessions) as session:
        outcome = scan(session, code, intent="lookup", store_id=shop.store_id, staff_id=None, at=scanned_at)

    assert outcome.ok is accepted


def test_a_spent_code_is_refused_but_the_next_minutes_code_works(runtime, shop):
    member = make_member(runtime.sessions)
    first, next_minute = _code(runtime, member.id, FROZEN), _code(runtime, member.id, FROZEN + STEP)

    results = []
    for code, at in ((first, FROZEN), (first, FROZEN + timedelta(seconds=5)), (next_minute, FROZEN + STEP)):
        with transaction(runtime.sessions) as session:
            outcome = scan(session, code, intent="transaction", store_id=shop.store_id, staff_id=None, at=at)
            results.append(outcome.refusal.reason if outcome.refusal else "ok")

    assert results == ["ok", Reason.CODE_USED, "ok"]


def test_an_erased_member_has_no_valid_code(runtime, shop):
    member = make_member(runtime.sessions)
    code = _code(runtime, member.id, FROZEN)
    with transaction(runtime.sessions) as session:
        erased = session.get(Member, member.id)
        assert erased is not None
        erased.erased_at = FROZEN

    with transaction(runtime.sessions) as session, pytest.raises(ScanRefused) as refused:
        barcode.resolve(session, code, FROZEN)

    assert refused.value.reason == Reason.CODE_UNKNOWN


def test_twenty_concurrent_transaction_scans_of_one_code_spend_it_once(runtime, shop, sessions, session):
    member = make_member(runtime.sessions)
    now = datetime.now(UTC)
    code = _code(runtime, member.id, now)

    def spend(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        all_have_read()
        outcome = scan(tx, code, intent="transaction", store_id=shop.store_id, staff_id=None, at=now)
        return outcome.refusal.reason if outcome.refusal else "ok"

    results = race(sessions, 20, spend)

    assert sorted(results) == [Reason.CODE_USED] * 19 + ["ok"], results
    assert count(session, ScanLog) == 20
