"""Purchases and refunds through the POS API: points by tier, once per transaction, upgrades at once, refunds take
back in proportion (never below zero), and every answer matches pos-api.yaml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.barcode import codes as barcode
from bot.services.membership.members import points_balance
from bot.services.rewards.ledger import post_points
from models import (
    Member,
    PointEntry,
    Purchase,
    Refund,
    ScanLog,
    Staff,
    StampCard,
    StampCardTemplate,
    Store,
    TierChange,
)
from tests.binding_helpers import friend
from tests.factories import make_member
from tests.helpers import count, texts
from tests.pos import assert_matches_openapi, open_shop


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


@pytest.fixture
def online_auth(runtime) -> dict[str, str]:
    """The online shop's key: it may record purchases by member number."""
    from bot.services.staff.api_keys import create_api_key

    with transaction(runtime.sessions) as session:
        session.add(Store(code="WEB", name="網路商店", is_online=True))
        session.flush()
        _, key = create_api_key(session, store_code="WEB", name="shop", now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


def code_of(runtime, member_id: int, *, minutes_ago: int = 0) -> str:
    """The member's barcode now, or the one shown a minute ago (still accepted once): two codes for two purchases."""
    at = datetime.now(UTC) - timedelta(seconds=barcode.STEP_SECONDS * minutes_ago)
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        assert member is not None
        return barcode.current_code(session, member, at).code


def buy(client, auth, **body: Any):
    response = client.post("/api/v1/purchases", json=body, headers=auth)
    assert_matches_openapi(response, "/purchases", "post")
    return response


def refund(client, auth, **body: Any):
    response = client.post("/api/v1/refunds", json=body, headers=auth)
    assert_matches_openapi(response, "/refunds", "post")
    return response


def set_tier(runtime, member_id: int, tier: str) -> None:
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        assert member is not None
        member.tier = tier


def test_a_scanned_purchase_earns_a_point_per_100_dollars_and_answers_the_member(client, runtime, shop, session):
    member = make_member(runtime.sessions, points=20)

    response = buy(
        client,
        shop.auth,
        transaction_id="T-1",
        amount=1250,
        member_code=code_of(runtime, member.id),
        staff_code="C001",
        items=[{"sku": "B01", "name": "可頌", "quantity": 2, "price": 625}],
    )

    assert response.status_code == 201
    body = response.get_json()
    assert (body["points_earned"], body["member"]["points"], body["replayed"]) == (12, 32, False)
    earned = session.scalars(select(PointEntry).where(PointEntry.kind == "earn", PointEntry.purchase_id.is_not(None)))
    entry = earned.one()
    assert (entry.points, entry.channel, entry.idempotency_key) == (12, "pos", f"purchase:{body['purchase_id']}")
    assert entry.expires_at == datetime(datetime.now(UTC).year + 1, 12, 31, 15, 59, 59, tzinfo=UTC)
    purchase = session.scalars(select(Purchase)).one()
    assert (purchase.staff_id, purchase.items) == (
        shop.clerk_id,
        [{"sku": "B01", "name": "可頌", "quantity": 2, "price": 625}],
    )


def test_a_purchase_stamps_the_card_and_its_refund_takes_the_stamps_back(client, runtime, shop, session):
    with transaction(runtime.sessions) as tx:
        tx.add(
            StampCardTemplate(code="BREAD", name="麵包集點", rule="per_amount", amount_per_stamp=100, stamps_to_fill=10)
        )
    member = make_member(runtime.sessions)

    bought = buy(client, shop.auth, transaction_id="T-1", amount=350, member_code=code_of(runtime, member.id))
    refunded = refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=350)

    (card,) = bought.get_json()["stamps"]
    assert (card["template_code"], card["stamps_added"], card["stamps"]) == ("BREAD", 3, 3)
    assert refunded.get_json()["stamps_reversed"] == 3
    assert session.scalars(select(StampCard.stamps)).one() == 0


def test_the_same_purchase_sent_again_answers_the_same_and_changes_nothing(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    body = {"transaction_id": "T-1", "amount": 990, "member_code": code_of(runtime, member.id)}
    first = buy(client, shop.auth, **body)

    again = buy(client, shop.auth, **body)

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert {**again.get_json(), "replayed": False} == first.get_json()
    assert (count(session, Purchase), count(session, PointEntry), points_balance(session, member.id)) == (1, 1, 9)


def test_a_repeat_after_its_clerk_left_answers_the_stored_purchase_and_logs_no_scan(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    body = {"transaction_id": "T-1", "amount": 990, "member_code": code_of(runtime, member.id), "staff_code": "C001"}
    first = buy(client, shop.auth, **body)
    with transaction(runtime.sessions) as tx:
        tx.get_one(Staff, shop.clerk_id).is_active = False

    again = buy(client, shop.auth, **body)

    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (200, "true")
    assert {**again.get_json(), "replayed": False} == first.get_json()
    assert [log.result for log in session.scalars(select(ScanLog))] == ["ok"]
    assert (count(session, Purchase), points_balance(session, member.id)) == (1, 9)


def test_a_repeat_by_member_number_answers_the_stored_purchase(client, runtime, online_auth, session):
    member = make_member(runtime.sessions)
    body = {"transaction_id": "W-1", "amount": 1500, "channel": "online", "member_number": member.member_number}
    first = buy(client, online_auth, **body)

    again = buy(client, online_auth, **body)
    changed = buy(client, online_auth, **{**body, "amount": 1600})

    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 200, "true")
    assert {**again.get_json(), "replayed": False} == first.get_json()
    assert (changed.status_code, changed.get_json()["error"]) == (409, "idempotency_conflict")
    assert (count(session, Purchase), count(session, PointEntry), points_balance(session, member.id)) == (1, 1, 15)


def test_the_same_transaction_id_with_another_body_is_refused(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    code = code_of(runtime, member.id)
    buy(client, shop.auth, transaction_id="T-1", amount=990, member_code=code)

    response = buy(client, shop.auth, transaction_id="T-1", amount=1990, member_code=code)

    assert (response.status_code, response.get_json()["error"]) == (409, "idempotency_conflict")
    assert points_balance(session, member.id) == 9


def test_a_changed_repeat_with_a_fresh_code_is_refused_and_neither_spends_the_code_nor_logs_it(
    client, runtime, shop, session
):
    member = make_member(runtime.sessions)
    buy(client, shop.auth, transaction_id="T-1", amount=990, member_code=code_of(runtime, member.id, minutes_ago=1))
    fresh = code_of(runtime, member.id)

    changed = buy(client, shop.auth, transaction_id="T-1", amount=1990, member_code=fresh)
    later = buy(client, shop.auth, transaction_id="T-2", amount=500, member_code=fresh)

    assert (changed.status_code, changed.get_json()["error"]) == (409, "idempotency_conflict")
    assert later.status_code == 201  # the fresh code was not spent by the refused repeat
    assert [log.result for log in session.scalars(select(ScanLog).order_by(ScanLog.id))] == ["ok", "ok"]
    assert (count(session, Purchase), points_balance(session, member.id)) == (2, 9 + 5)


def test_one_scanned_code_pays_for_one_purchase_only(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    code = code_of(runtime, member.id)
    buy(client, shop.auth, transaction_id="T-1", amount=500, member_code=code)

    response = buy(client, shop.auth, transaction_id="T-2", amount=500, member_code=code)

    assert (response.status_code, response.get_json()["error"]) == (409, "code_used")
    assert count(session, Purchase) == 1
    assert [log.result for log in session.scalars(select(ScanLog).order_by(ScanLog.id))] == ["ok", "used"]


def test_a_store_cannot_earn_by_member_number_but_the_online_shop_can(client, runtime, shop, online_auth, session):
    make_member(runtime.sessions)

    at_the_till = buy(client, shop.auth, transaction_id="T-1", amount=500, member_number="M000001")
    claiming_online = buy(
        client, shop.auth, transaction_id="T-2", amount=500, member_number="M000001", channel="online"
    )
    online = buy(client, online_auth, transaction_id="W-1", amount=500, member_number="M000001", channel="online")

    assert (at_the_till.status_code, at_the_till.get_json()["error"]) == (422, "member_number_lookup_only")
    assert (claiming_online.status_code, claiming_online.get_json()["error"]) == (422, "channel_not_allowed")
    assert (online.status_code, online.get_json()["points_earned"]) == (201, 5)
    assert session.scalars(select(PointEntry.channel)).all() == ["online"]


def test_an_unknown_member_number_and_an_unknown_code_are_not_found(client, shop, online_auth):
    by_number = buy(client, online_auth, transaction_id="W-1", amount=500, member_number="M999", channel="online")
    by_code = buy(client, shop.auth, transaction_id="T-1", amount=500, member_code="9" * 18)

    assert (by_number.status_code, by_number.get_json()["error"]) == (404, "member_not_found")
    assert (by_code.status_code, by_code.get_json()["error"]) == (422, "code_invalid")


@pytest.mark.parametrize(("tier", "amount", "points"), [("regular", 999, 9), ("silver", 1000, 12), ("gold", 1990, 29)])
def test_the_tier_multiplies_the_points(client, runtime, shop, tier, amount, points):
    member = make_member(runtime.sessions)
    set_tier(runtime, member.id, tier)

    response = buy(client, shop.auth, transaction_id="T-1", amount=amount, member_code=code_of(runtime, member.id))

    assert response.get_json()["points_earned"] == points


def test_crossing_a_threshold_upgrades_at_once_and_tells_the_member_in_line(client, runtime, platform, shop, session):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    buy(client, shop.auth, transaction_id="T-1", amount=9_000, member_code=code_of(runtime, member.id, minutes_ago=1))

    response = buy(client, shop.auth, transaction_id="T-2", amount=1_000, member_code=code_of(runtime, member.id))

    body = response.get_json()
    assert (body["tier_changed_to"], body["member"]["tier"], body["points_earned"]) == ("silver", "silver", 10)
    change = session.scalars(select(TierChange)).one()
    assert (change.from_tier, change.to_tier, change.rolling_spend) == ("regular", "silver", 10_000)
    assert "恭喜升級為銀卡會員！" in texts(platform.bot_messages(user))


def test_a_refund_takes_back_points_in_proportion_and_all_of_them_when_full(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    buy(client, shop.auth, transaction_id="T-1", amount=1000, member_code=code_of(runtime, member.id))

    part = refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=350)
    rest = refund(client, shop.auth, transaction_id="T-1", refund_id="R-2", amount=650)

    assert (part.status_code, part.get_json()["points_reversed"], part.get_json()["member"]["points"]) == (201, 3, 7)
    assert (rest.get_json()["points_reversed"], rest.get_json()["purchase_refunded_amount"]) == (7, 1000)
    assert points_balance(session, member.id) == 0
    earn = session.scalars(select(PointEntry).where(PointEntry.kind == "earn")).one()
    reversals = session.scalars(select(PointEntry).where(PointEntry.kind == "reverse")).all()
    assert {entry.reverses_entry_id for entry in reversals} == {earn.id}


def test_a_refund_sent_again_is_answered_the_same_and_a_changed_one_is_refused(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    buy(client, shop.auth, transaction_id="T-1", amount=1000, member_code=code_of(runtime, member.id))
    first = refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=500)

    again = refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=500)
    changed = refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=400)

    assert (again.status_code, {**again.get_json(), "replayed": False}) == (200, first.get_json())
    assert (changed.status_code, changed.get_json()["error"]) == (409, "idempotency_conflict")
    assert (count(session, Refund), points_balance(session, member.id)) == (1, 5)


def test_a_refund_larger_than_what_is_left_or_of_an_unknown_purchase_is_refused(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    buy(client, shop.auth, transaction_id="T-1", amount=1000, member_code=code_of(runtime, member.id))
    refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=800)

    too_much = refund(client, shop.auth, transaction_id="T-1", refund_id="R-2", amount=201)
    unknown = refund(client, shop.auth, transaction_id="T-404", refund_id="R-1", amount=1)

    assert (too_much.status_code, too_much.get_json()["error"]) == (422, "refund_exceeds_purchase")
    assert (unknown.status_code, unknown.get_json()["error"]) == (404, "purchase_not_found")
    assert session.scalars(select(Purchase.refunded_amount)).one() == 800
    assert count(session, Refund) == 1


def test_points_already_spent_are_not_taken_back_below_zero_and_the_shortfall_is_reported(
    client, runtime, shop, session
):
    member = make_member(runtime.sessions)
    buy(client, shop.auth, transaction_id="T-1", amount=1000, member_code=code_of(runtime, member.id))
    with transaction(runtime.sessions) as tx:
        post_points(
            tx,
            member.id,
            -8,
            kind="spend",
            reason="折抵",
            channel="pos",
            idempotency_key="spend-1",
            at=datetime.now(UTC),
        )

    response = refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=1000)

    body = response.get_json()
    assert (body["points_reversed"], body["points_shortfall"], body["member"]["points"]) == (2, 8, 0)
    assert points_balance(session, member.id) == 0


def test_a_refund_that_undoes_an_upgrade_moves_the_member_back_down(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    buy(client, shop.auth, transaction_id="T-1", amount=12_000, member_code=code_of(runtime, member.id))

    response = refund(client, shop.auth, transaction_id="T-1", refund_id="R-1", amount=5_000)

    assert (response.get_json()["tier_changed_to"], response.get_json()["member"]["tier"]) == ("regular", "regular")
    assert [c.to_tier for c in session.scalars(select(TierChange).order_by(TierChange.id))] == ["silver", "regular"]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 100, "member_code": "1" * 18},
        {"transaction_id": "T-1", "amount": 0, "member_code": "1" * 18},
        {"transaction_id": "T-1", "amount": "100", "member_code": "1" * 18},
        {"transaction_id": "T-1", "amount": True, "member_code": "1" * 18},
        {"transaction_id": "T-1", "amount": 100},
        {"transaction_id": "T-1", "amount": 100, "member_code": "1" * 18, "member_number": "M000001"},
        {"transaction_id": "T-1", "amount": 100, "member_code": "1" * 18, "channel": "phone"},
        {"transaction_id": "T-1", "amount": 100, "member_code": "1" * 18, "items": [{"sku": "B01"}]},
        {"transaction_id": "x" * 101, "amount": 100, "member_code": "1" * 18},
    ],
)
def test_a_malformed_purchase_is_refused_and_changes_nothing(client, shop, session, body):
    response = buy(client, shop.auth, **body)

    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_request")
    assert count(session, ScanLog) == 0


def test_purchases_and_refunds_need_a_store_key(client, runtime, session):
    member = make_member(runtime.sessions)

    bought = buy(client, {}, transaction_id="T-1", amount=100, member_code=code_of(runtime, member.id))
    refunded = refund(client, {}, transaction_id="T-1", refund_id="R-1", amount=100)

    assert (bought.status_code, refunded.status_code) == (401, 401)
    assert (count(session, Purchase), count(session, ScanLog)) == (0, 0)


def test_a_purchase_refused_while_earning_records_nothing_and_a_retry_is_recorded_whole(
    client, runtime, shop, session, monkeypatch
):
    from bot.services.refusals import Reason, Refused
    from bot.services.rewards import stamp_cards

    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        tx.add(StampCardTemplate(code="VISIT5", name="來店集點", rule="per_visit", stamps_to_fill=5, is_active=True))
    code = code_of(runtime, member.id)

    def no_card(*args, **kwargs):
        raise Refused(Reason.STAMP_CARD_UNAVAILABLE)

    with monkeypatch.context() as patch:
        patch.setattr(stamp_cards, "new_card", no_card)
        refused = client.post(
            "/api/v1/purchases", json={"transaction_id": "T-1", "amount": 500, "member_code": code}, headers=shop.auth
        )

    assert refused.status_code == 503 and refused.get_json()["error"] == "stamp_unavailable"
    assert (count(session, Purchase), count(session, PointEntry), count(session, StampCard)) == (0, 0, 0)
    retried = buy(client, shop.auth, transaction_id="T-1", amount=500, member_code=code)
    assert retried.status_code == 201
    assert retried.get_json()["points_earned"] == 5 and retried.get_json()["stamps"][0]["stamps"] == 1
