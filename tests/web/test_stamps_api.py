"""The smart stamp through the POS API: the clerk scans the member's code, every per-visit card gets a stamp; a code
stamps once, the daily limit refuses and changes nothing; answers match openapi/pos-api.yaml."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.barcode import codes as barcode
from bot.services.rewards.stamps import smart_stamp
from models import BarcodeUse, Coupon, Member, ScanLog, StampCard, StampEntry
from tests.binding_helpers import friend
from tests.coupon_helpers import make_template as make_coupon_template
from tests.factories import make_member
from tests.helpers import count, texts
from tests.pos import assert_matches_openapi, open_shop
from tests.stamp_helpers import make_stamp_template


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


def _visit_card(runtime, **fields):
    values = {"name": "來店集點", "rule": "per_visit", "amount_per_stamp": None, "stamps_to_fill": 5, **fields}
    return make_stamp_template(runtime.sessions, "VISIT5", **values)


def _code(runtime, member_id: int) -> str:
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        assert member is not None
        return barcode.current_code(session, member, datetime.now(UTC)).code


def _stamp(client, shop, code: str, **body):
    response = client.post(
        "/api/v1/stamps", json={"member_code": code, "staff_code": "C001", **body}, headers=shop.auth
    )
    assert_matches_openapi(response, "/stamps", "post")
    return response


def test_a_smart_stamp_spends_the_code_and_stamps_every_per_visit_card(client, runtime, shop, session):
    _visit_card(runtime)
    make_stamp_template(
        runtime.sessions, "LOYAL3", name="熟客卡", rule="per_visit", amount_per_stamp=None, stamps_to_fill=3
    )
    make_stamp_template(runtime.sessions)  # per amount: a clerk's stamp does not touch it
    member = make_member(runtime.sessions)

    response = _stamp(client, shop, _code(runtime, member.id))

    assert response.status_code == 200
    body = response.get_json()
    assert (body["member"]["member_number"], body["replayed"]) == ("M000001", False)
    assert [(c["template_code"], c["stamps"], c["stamps_to_fill"], c["stamps_added"]) for c in body["cards"]] == [
        ("VISIT5", 1, 5, 1),
        ("LOYAL3", 1, 3, 1),
    ]
    assert count(session, BarcodeUse) == 1
    assert {(e.channel, e.staff_id) for e in session.scalars(select(StampEntry))} == {("clerk", shop.clerk_id)}


def test_a_second_scan_of_the_same_code_is_refused(client, runtime, shop, session):
    _visit_card(runtime)
    member = make_member(runtime.sessions)
    code = _code(runtime, member.id)

    first, again = _stamp(client, shop, code), _stamp(client, shop, code)

    assert first.status_code == 200
    assert (again.status_code, again.get_json()["error"]) == (409, "code_used")
    assert session.scalars(select(StampCard.stamps)).one() == 1


def test_at_the_daily_limit_the_stamp_is_refused_and_nothing_changes(client, runtime, shop, session):
    _visit_card(runtime, daily_limit=1)
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        row = tx.get(Member, member.id)
        assert row is not None
        smart_stamp(tx, row, store_id=shop.store_id, staff_id=shop.clerk_id, at=datetime.now(UTC), idempotency_key="x")
    code = _code(runtime, member.id)

    refused = _stamp(client, shop, code)

    assert refused.status_code == 409
    assert refused.get_json() == {
        "error": "daily_limit_reached",
        "message": "今天的來店集點已達上限，明天再來集點吧",
        "message_en": "This member has had today's visit stamps already; come back tomorrow.",
    }
    assert session.scalars(select(StampCard.stamps)).one() == 1
    assert count(session, StampEntry) == 1
    assert count(session, BarcodeUse) == 0, "the code is not spent"
    assert [(log.intent, log.result) for log in session.scalars(select(ScanLog))] == [("lookup", "ok")]


def test_a_retry_with_the_same_idempotency_key_answers_the_first_stamp_again(client, runtime, shop, session):
    _visit_card(runtime)
    member = make_member(runtime.sessions)
    code = _code(runtime, member.id)

    first = _stamp(client, shop, code, idempotency_key="POS1-0001")
    retry = _stamp(client, shop, code, idempotency_key="POS1-0001")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.get_json()["replayed"] is True
    assert [(c["stamps"], c["stamps_added"]) for c in retry.get_json()["cards"]] == [(1, 0)]
    assert count(session, StampEntry) == 1


def test_a_smart_stamp_that_fills_the_card_issues_the_reward_and_tells_the_member(
    client, platform, runtime, shop, session
):

    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    reward = make_coupon_template(
        runtime.sessions, "COFFEE", name="咖啡兌換券", kind="free_item", item="咖啡", min_spend=0
    )
    _visit_card(runtime, stamps_to_fill=1, reward_coupon_template_id=reward.id)
    seen = len(platform.bot_messages(user))

    response = _stamp(client, shop, _code(runtime, member.id))

    (card,) = response.get_json()["cards"]
    coupon = session.scalars(select(Coupon)).one()
    assert (card["filled_now"], card["reward_coupon_code"]) == (True, coupon.code)
    assert (
        texts(platform.bot_messages(user)[seen:])[0]
        == "恭喜集滿「來店集點」！\n已送您「咖啡兌換券」，可在「優惠券」查看。"
    )


def test_refusals_the_pos_can_act_on(client, runtime, shop):
    member = make_member(runtime.sessions)

    no_card = _stamp(client, shop, _code(runtime, member.id))
    _visit_card(runtime)
    by_number = _stamp(client, shop, "M000001")
    unknown = _stamp(client, shop, "000000000000000000")
    stranger = _stamp(client, shop, _code(runtime, member.id), staff_code="K001")
    missing = _stamp(client, shop, "")
    garbled = _stamp(client, shop, "0000\x00")
    unauthorized = client.post("/api/v1/stamps", json={"member_code": "1", "staff_code": "C001"})

    assert [
        (r.status_code, r.get_json()["error"]) for r in (no_card, by_number, unknown, stranger, missing, garbled)
    ] == [
        (409, "no_stamp_card"),
        (422, "member_number_lookup_only"),
        (422, "code_invalid"),
        (422, "unknown_staff"),
        (400, "invalid_request"),
        (400, "invalid_request"),
    ]
    assert unauthorized.status_code == 401


def test_a_purchase_and_its_refund_through_the_pos_api_stamp_and_take_back(client, runtime, shop, session):
    make_stamp_template(runtime.sessions, daily_limit=3)
    member = make_member(runtime.sessions)
    purchase = {"transaction_id": "T1", "amount": 450, "member_code": _code(runtime, member.id), "staff_code": "C001"}

    bought = client.post("/api/v1/purchases", json=purchase, headers=shop.auth)
    refunded = client.post(
        "/api/v1/refunds", json={"transaction_id": "T1", "refund_id": "R1", "amount": 250}, headers=shop.auth
    )

    assert_matches_openapi(bought, "/purchases", "post")
    (card,) = bought.get_json()["stamps"]
    assert (card["template_code"], card["stamps"], card["stamps_added"], card["daily_limit_reached"]) == (
        "BREAD10",
        3,
        3,
        True,
    )
    assert refunded.get_json()["stamps_reversed"] == 1, "NT$200 kept: 2 stamps"
    assert session.scalars(select(StampCard.stamps)).one() == 2


def _code_at(runtime, member_id: int, at: datetime) -> str:
    with transaction(runtime.sessions) as session:
        return barcode.current_code(session, session.get_one(Member, member_id), at).code


def test_the_daily_limit_counts_the_brands_own_days_in_its_timezone(client, runtime, shop, session, clock):
    """TIMEZONE decides the day: in New York 23:30 and 00:30 are two days, though both are one afternoon in Taipei."""
    runtime.settings = replace(runtime.settings, timezone="America/New_York")
    _visit_card(runtime, daily_limit=1)
    member = make_member(runtime.sessions)
    late_evening = datetime(2026, 1, 6, 4, 30, tzinfo=UTC)  # 5 January, 23:30 in New York; 12:30 on 6 January in Taipei

    clock.set(late_evening)
    first = _stamp(client, shop, _code_at(runtime, member.id, late_evening))
    clock.set(late_evening + timedelta(hours=1))  # 00:30 on 6 January in New York
    second = _stamp(client, shop, _code_at(runtime, member.id, late_evening + timedelta(hours=1)))

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["cards"][0]["stamps"] == 2
    days = session.scalars(select(StampEntry.local_day).order_by(StampEntry.id)).all()
    assert [day.isoformat() for day in days] == ["2026-01-05", "2026-01-06"]
