"""A spent member code rolls over at once: the next generation of the same minute is the member's code, the spent
one is refused as used, one not issued yet as forged, and two tills scanning one code at once spend it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import transaction
from bot.links import card_url
from bot.services.barcode import codes as barcode
from bot.services.barcode.codes import CODE_LENGTH, MEMBER_DIGITS, STEP_SECONDS, ScanRefused
from bot.services.barcode.scanning import scan
from bot.services.refusals import Reason
from models import BarcodeKey, BarcodeUse, Member, ScanLog
from tests.binding_helpers import friend, path_of
from tests.concurrency import race
from tests.factories import make_member
from tests.pos import member_code, open_shop
from tests.web.test_barcode_card import decoded

STEP = timedelta(seconds=STEP_SECONDS)
FROZEN = datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC)


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


def _transaction(runtime, shop, code: str, at: datetime) -> str:
    """`ok` or the refusal reason of a value-changing scan of `code` at `at`."""
    with transaction(runtime.sessions) as session:
        outcome = scan(session, code, intent="transaction", store_id=shop.store_id, staff_id=None, at=at)
        return outcome.refusal.reason if outcome.refusal else "ok"


def _lookup(runtime, shop, code: str, at: datetime) -> str:
    with transaction(runtime.sessions) as session:
        outcome = scan(session, code, intent="lookup", store_id=shop.store_id, staff_id=None, at=at)
        return outcome.refusal.reason if outcome.refusal else "ok"


def _unissued(runtime, member_id: int, at: datetime, generation: int) -> str:
    """The code a till would have to make up: a genuine HMAC of a generation the member was never shown."""
    with transaction(runtime.sessions) as session:
        secret = session.scalars(select(BarcodeKey.secret).where(BarcodeKey.member_id == member_id)).one()
    digits = pyotp.TOTP(secret, digits=8, interval=STEP_SECONDS).generate_otp(
        barcode.time_step(at) + (generation << barcode.GENERATION_SHIFT)
    )
    return f"{member_id:0{MEMBER_DIGITS}d}{digits}"


def test_a_spent_code_gives_way_to_a_new_one_in_the_same_minute(runtime, shop):
    member = make_member(runtime.sessions)
    first = member_code(runtime.sessions, member.id, FROZEN)

    spent = _transaction(runtime, shop, first, FROZEN)
    second = member_code(runtime.sessions, member.id, FROZEN + timedelta(seconds=2))

    assert spent == "ok"
    assert second != first
    assert len(second) == CODE_LENGTH and second.isdigit() and second[:MEMBER_DIGITS] == first[:MEMBER_DIGITS]
    assert _transaction(runtime, shop, second, FROZEN + timedelta(seconds=3)) == "ok"
    third = member_code(runtime.sessions, member.id, FROZEN + timedelta(seconds=4))
    assert len({first, second, third}) == 3
    assert _transaction(runtime, shop, third, FROZEN + timedelta(seconds=5)) == "ok"


def test_every_earlier_generation_of_the_minute_is_refused_as_used(runtime, shop):
    member = make_member(runtime.sessions)
    shown = []
    for i in range(3):
        shown.append(member_code(runtime.sessions, member.id, FROZEN + timedelta(seconds=i)))
        assert _transaction(runtime, shop, shown[-1], FROZEN + timedelta(seconds=i)) == "ok"

    again = [_transaction(runtime, shop, code, FROZEN + timedelta(seconds=10)) for code in shown]

    assert again == [Reason.CODE_USED] * 3
    with transaction(runtime.sessions) as session:
        uses = session.execute(select(BarcodeUse.time_step, BarcodeUse.generation).order_by(BarcodeUse.id)).all()
    assert [generation for _step, generation in uses] == [0, 1, 2]


def test_a_spent_code_still_looks_the_member_up(runtime, shop):
    member = make_member(runtime.sessions)
    code = member_code(runtime.sessions, member.id, FROZEN)
    _transaction(runtime, shop, code, FROZEN)

    assert _lookup(runtime, shop, code, FROZEN + timedelta(seconds=1)) == "ok"


def test_a_generation_not_issued_yet_is_refused_as_forged(runtime, shop, session):
    member = make_member(runtime.sessions)
    member_code(runtime.sessions, member.id, FROZEN)  # the secret exists; generation 0 is the member's code
    made_up = _unissued(runtime, member.id, FROZEN, generation=1)

    answers = [_transaction(runtime, shop, made_up, FROZEN), _lookup(runtime, shop, made_up, FROZEN)]

    assert answers == [Reason.CODE_INVALID] * 2
    assert session.scalars(select(ScanLog.result)).all() == ["forged", "forged"]
    assert session.scalars(select(BarcodeUse)).all() == []


def test_the_rolled_over_code_is_still_good_in_the_next_minute_then_expires(runtime, shop):
    member = make_member(runtime.sessions)
    _transaction(runtime, shop, member_code(runtime.sessions, member.id, FROZEN), FROZEN)
    second = member_code(runtime.sessions, member.id, FROZEN)

    with transaction(runtime.sessions) as session, pytest.raises(ScanRefused) as late:
        barcode.resolve(session, second, FROZEN + 2 * STEP)

    assert late.value.reason == Reason.CODE_EXPIRED, "an old generation is expired, not forged"
    assert _transaction(runtime, shop, second, FROZEN + STEP) == "ok", "one step of clock drift"


def test_a_new_minute_starts_again_at_generation_zero(runtime, shop):
    member = make_member(runtime.sessions)
    _transaction(runtime, shop, member_code(runtime.sessions, member.id, FROZEN), FROZEN)

    with transaction(runtime.sessions) as session:
        shown = barcode.current_code(session, session.get_one(Member, member.id), FROZEN + STEP)

    assert (shown.generation, shown.version) == (0, f"{barcode.time_step(FROZEN) + 1}.0")


@pytest.mark.postgres_only
def test_two_tills_scanning_a_rolled_over_code_at_once_spend_it_once(runtime, shop, sessions):
    member = make_member(runtime.sessions)
    now = datetime.now(UTC)
    assert _transaction(runtime, shop, member_code(runtime.sessions, member.id, now), now) == "ok"
    second = member_code(runtime.sessions, member.id, now)

    def spend(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        all_have_read()
        outcome = scan(tx, second, intent="transaction", store_id=shop.store_id, staff_id=None, at=now)
        return outcome.refusal.reason if outcome.refusal else "ok"

    results = race(sessions, 2, spend)

    assert sorted(results) == [Reason.CODE_USED, "ok"], results
    third = member_code(runtime.sessions, member.id, now)
    assert third != second and _transaction(runtime, shop, third, now) == "ok"


def test_the_card_feed_answers_unchanged_until_the_code_is_spent_then_the_next_one(
    client, platform, runtime, settings, shop, clock
):
    clock.set(FROZEN)
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    feed = path_of(card_url(settings, user)).replace("/members/card?", "/members/card/code?")
    shown = client.get(feed).json

    poll = client.get(f"{feed}&v={shown['version']}")
    assert _transaction(runtime, shop, shown["code"], FROZEN) == "ok"
    after_spend = client.get(f"{feed}&v={shown['version']}").json

    assert poll.status_code == 200 and poll.headers["Cache-Control"] == "no-store"
    assert poll.json == {
        "unchanged": True,
        "version": shown["version"],
        "expires_at": shown["expires_at"],
        "valid_until": shown["valid_until"],
        "seconds_left": 30,
    }, "a poll that changes nothing signs no image and shows no code"
    assert after_spend["code"] != shown["code"]
    assert after_spend["version"] == f"{barcode.time_step(FROZEN)}.1"
    assert after_spend["code"] == member_code(runtime.sessions, member.id, FROZEN)
    assert decoded(client.get(after_spend["barcode_url"]).data)[0] == after_spend["code"]
    assert _transaction(runtime, shop, after_spend["code"], FROZEN) == "ok"
    assert _transaction(runtime, shop, shown["code"], FROZEN) == Reason.CODE_USED
