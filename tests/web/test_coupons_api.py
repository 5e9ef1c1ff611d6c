"""The coupon endpoints of the POS API: redeem, undo, a member's usable coupons; every answer matches pos-api.yaml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.db import transaction
from bot.services.staff.api_keys import create_api_key
from models import Coupon, CouponRedemption, ScanLog, Store
from tests.coupon_helpers import give, make_template, redemptions
from tests.factories import make_member
from tests.pos import assert_matches_openapi, make_key, member_code, open_shop

REDEEM, UNDO, LIST = "/coupons/redeem", "/coupons/undo", "/members/{member_number}/coupons"


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


@pytest.fixture
def coupon(runtime, member) -> Coupon:
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "api", at=datetime.now(UTC))
    return coupon


@pytest.fixture
def at_till(runtime, member) -> dict[str, str]:
    """The member at the till: their member code, scanned now."""
    return {"member_code": member_code(runtime.sessions, member.id)}


def _post(client, path: str, body: dict, headers: dict):
    response = client.post(f"/api/v1{path}", json=body, headers=headers)
    assert_matches_openapi(response, path, "post")
    return response


def _error(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]


def test_a_redemption_answers_with_the_coupon_and_a_second_one_is_refused_as_used(
    client, session, shop, coupon, at_till
):
    body = {"code": coupon.code, "staff_code": "C001", **at_till, "spend": 320}

    first = _post(client, REDEEM, body, shop.auth)
    second = _post(client, REDEEM, body, shop.auth)

    assert first.status_code == 200
    answer = first.get_json()
    assert answer["coupon"] == {
        "code": coupon.code,
        "name": "滿 300 折 50",
        "kind": "amount_off",
        "value": 50,
        "item": None,
        "min_spend": 300,
        "valid_from": coupon.valid_from.isoformat(),
        "expires_at": coupon.expires_at.isoformat(),
        "member_number": "M000001",
    }
    assert datetime.fromisoformat(answer["redeemed_at"]) == session.get(Coupon, coupon.id).redeemed_at
    assert _error(second) == (409, "used")
    assert second.get_json()["message"] == "此優惠券已使用"
    assert second.get_json()["message_en"] == "This coupon has already been used."
    (redemption,) = session.query(CouponRedemption).all()
    assert (redemption.channel, redemption.staff_id, redemption.store_id) == ("pos_api", shop.clerk_id, shop.store_id)


def test_refusals_name_their_reason_and_change_nothing(client, runtime, session, shop, member, coupon, at_till):
    other = make_member(runtime.sessions, member_number="M000002", phone="+886922333444")
    expired, _ = give(
        runtime.sessions, member, make_template(runtime.sessions, "OLD"), "old", datetime.now(UTC) - timedelta(days=31)
    )
    others_code = {"member_code": member_code(runtime.sessions, other.id)}
    online = _online_key(runtime)

    answers = {
        "unknown": _post(client, REDEEM, {"code": "CP000000000000", **at_till}, shop.auth),
        "foreign": _post(client, REDEEM, {"code": coupon.code, **others_code}, shop.auth),
        "min_spend": _post(client, REDEEM, {"code": coupon.code, "spend": 299, **at_till}, shop.auth),
        "expired": _post(client, REDEEM, {"code": expired.code, **at_till}, shop.auth),
        "member_not_found": _post(client, REDEEM, {"code": coupon.code, "member_number": "M999"}, online),
        "unknown_staff": _post(client, REDEEM, {"code": coupon.code, "staff_code": "K001", **at_till}, shop.auth),
        "invalid_request": _post(client, REDEEM, {"code": coupon.code, "spend": "300", **at_till}, shop.auth),
        "unauthorized": _post(client, REDEEM, {"code": coupon.code, **at_till}, {}),
    }

    assert {reason: _error(response) for reason, response in answers.items()} == {
        "unknown": (404, "unknown"),
        "foreign": (422, "foreign"),
        "min_spend": (422, "min_spend"),
        "expired": (422, "expired"),
        "member_not_found": (404, "member_not_found"),
        "unknown_staff": (422, "unknown_staff"),
        "invalid_request": (400, "invalid_request"),
        "unauthorized": (401, "unauthorized"),
    }
    assert answers["min_spend"].get_json()["message"] == "此優惠券需消費滿 NT$300"
    assert session.query(CouponRedemption).count() == 0
    assert session.get(Coupon, coupon.id).redeemed_at is None


def test_a_pos_retrying_the_same_transaction_gets_the_same_answer_and_another_transaction_does_not(
    client, session, shop, coupon, at_till
):
    body = {"code": coupon.code, "transaction_id": "TPE01-0001", **at_till}
    first = _post(client, REDEEM, body, shop.auth)

    retried = _post(client, REDEEM, body, shop.auth)
    other = _post(client, REDEEM, {**body, "transaction_id": "TPE01-0002"}, shop.auth)

    assert retried.status_code == 200 and retried.get_json() == first.get_json()
    assert _error(other) == (409, "used")
    assert redemptions(session, coupon.id) == 1


def test_a_clerk_undoes_a_redemption_and_the_coupon_works_again(client, session, shop, coupon, at_till):
    _post(client, REDEEM, {"code": coupon.code, **at_till}, shop.auth)

    undone = _post(client, UNDO, {"code": coupon.code, "staff_code": "C001"}, shop.auth)
    twice = _post(client, UNDO, {"code": coupon.code, "staff_code": "C001"}, shop.auth)
    again = _post(client, REDEEM, {"code": coupon.code, **at_till}, shop.auth)

    assert undone.status_code == 200 and undone.get_json()["coupon"]["code"] == coupon.code
    assert _error(twice) == (409, "not_redeemed")
    assert again.status_code == 200
    assert (redemptions(session, coupon.id), redemptions(session, coupon.id, live_only=True)) == (2, 1)
    first = session.query(CouponRedemption).order_by(CouponRedemption.id).first()
    assert (first.is_active, first.undone_by_staff_id) == (False, shop.clerk_id)


def test_an_undo_is_refused_after_15_minutes_from_another_store_or_without_a_clerk(
    client, runtime, session, shop, coupon, at_till
):
    _post(client, REDEEM, {"code": coupon.code, **at_till}, shop.auth)
    with transaction(runtime.sessions) as tx:
        _, other_key = create_api_key(tx, store_code="KHH01", name="POS 1", now=datetime.now(UTC))
    elsewhere = _post(
        client, UNDO, {"code": coupon.code, "staff_code": "K001"}, {"Authorization": f"Bearer {other_key}"}
    )
    no_clerk = _post(client, UNDO, {"code": coupon.code}, shop.auth)
    with transaction(runtime.sessions) as tx:
        long_ago = datetime.now(UTC) - timedelta(minutes=16)
        tx.execute(update(CouponRedemption).values(created_at=long_ago))

    late = _post(client, UNDO, {"code": coupon.code, "staff_code": "C001"}, shop.auth)
    unknown = _post(client, UNDO, {"code": "CP000000000000", "staff_code": "C001"}, shop.auth)

    assert _error(elsewhere) == (403, "other_store")
    assert _error(no_clerk) == (400, "invalid_request")
    assert _error(late) == (409, "undo_window_passed")
    assert _error(unknown) == (404, "unknown")
    assert redemptions(session, coupon.id, live_only=True) == 1


def test_a_members_usable_coupons_are_listed_soonest_to_expire_first(client, runtime, shop, member, coupon, at_till):
    now = datetime.now(UTC)
    soon, _ = give(
        runtime.sessions, member, make_template(runtime.sessions, "SOON", valid_days_after_issue=2), "s", now
    )
    used, _ = give(runtime.sessions, member, make_template(runtime.sessions, "USED"), "u", now)
    _post(client, REDEEM, {"code": used.code, **at_till}, shop.auth)

    response = client.get("/api/v1/members/M000001/coupons", headers=shop.auth)
    missing = client.get("/api/v1/members/M999/coupons", headers=shop.auth)

    assert_matches_openapi(response, LIST, "get")
    assert_matches_openapi(missing, LIST, "get")
    assert response.status_code == 200
    assert [listed["code"] for listed in response.get_json()["coupons"]] == [soon.code, coupon.code]
    assert _error(missing) == (404, "member_not_found")


def test_text_no_database_could_store_is_refused_before_it_reaches_one(client, shop, coupon):
    answers = [
        _post(client, REDEEM, {"code": "CP\u0000"}, shop.auth),
        _post(client, REDEEM, {"code": coupon.code, "transaction_id": "T\u0000"}, shop.auth),
        _post(client, UNDO, {"code": coupon.code, "staff_code": "\u0000"}, shop.auth),
        _post(client, REDEEM, {"code": "CP-0000-0000-0000-" + "9" * 12}, shop.auth),
    ]
    listed = client.get("/api/v1/members/%00/coupons", headers=shop.auth)

    assert [_error(answer) for answer in answers] == [
        (400, "invalid_request"),
        (400, "invalid_request"),
        (400, "invalid_request"),
        (404, "unknown"),
    ]
    assert_matches_openapi(listed, LIST, "get")
    assert _error(listed) == (404, "member_not_found")


def _online_key(runtime) -> dict[str, str]:
    """The online shop's key (a store marked online), which names the signed-in member by number."""
    with transaction(runtime.sessions) as tx:
        tx.add(Store(code="WEB", name="網路商店", is_online=True))
    return make_key(runtime.sessions, ("scan", "coupons"), store_code="WEB")


def test_a_coupon_is_not_redeemed_without_its_member_at_the_till(client, runtime, session, shop, member, coupon):
    number_typed = _post(client, REDEEM, {"code": coupon.code, "member_code": "M000001"}, shop.auth)
    number_sent = _post(client, REDEEM, {"code": coupon.code, "member_number": "M000001"}, shop.auth)
    nobody = _post(client, REDEEM, {"code": coupon.code, "staff_code": "C001"}, shop.auth)
    both = _post(
        client,
        REDEEM,
        {"code": coupon.code, "member_number": "M000001", "member_code": member_code(runtime.sessions, member.id)},
        shop.auth,
    )

    assert _error(nobody) == (422, "member_required")
    assert nobody.get_json()["message"] == "使用此優惠券須由會員本人出示會員條碼"
    assert _error(number_typed) == (422, "member_number_lookup_only")
    assert _error(number_sent) == (422, "member_number_lookup_only")
    assert _error(both) == (400, "invalid_request")
    assert redemptions(session, coupon.id) == 0 and session.get(Coupon, coupon.id).redeemed_at is None
    assert session.query(ScanLog).count() == 1  # the typed number's scan, kept though refused


def test_another_members_code_at_the_till_is_refused_as_foreign(client, runtime, session, shop, coupon):
    other = make_member(runtime.sessions, member_number="M000002", phone="+886922333444")

    response = _post(
        client, REDEEM, {"code": coupon.code, "member_code": member_code(runtime.sessions, other.id)}, shop.auth
    )

    assert _error(response) == (422, "foreign")
    assert redemptions(session, coupon.id) == 0 and session.get(Coupon, coupon.id).redeemed_at is None


def test_the_online_shops_key_names_the_member_by_number_and_the_code_is_not_spent(
    client, runtime, session, shop, member, coupon, at_till
):
    online = _online_key(runtime)
    other_coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions, "MORE"), "more", datetime.now(UTC))

    by_number = _post(client, REDEEM, {"code": coupon.code, "member_number": "M000001"}, online)
    by_code = _post(client, REDEEM, {"code": other_coupon.code, **at_till}, shop.auth)
    scanned_again = client.post(
        "/api/v1/scan", json={**{"code": at_till["member_code"]}, "intent": "transaction"}, headers=shop.auth
    )

    assert by_number.status_code == 200 and by_code.status_code == 200
    assert scanned_again.status_code == 200  # redeeming looked the member up; the code still earns the purchase
    assert redemptions(session, coupon.id) == 1 and redemptions(session, other_coupon.id) == 1


def test_a_template_may_allow_redeeming_without_the_member(client, runtime, session, shop, member):
    template = make_template(runtime.sessions, "ANYONE", redeemable_without_member=True)
    coupon, _ = give(runtime.sessions, member, template, "anyone", datetime.now(UTC))

    response = _post(client, REDEEM, {"code": coupon.code, "staff_code": "C001"}, shop.auth)

    assert response.status_code == 200
    assert redemptions(session, coupon.id) == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", REDEEM, {"code": "CP000000000000"}),
        ("post", UNDO, {"code": "CP000000000000", "staff_code": "C001"}),
        ("get", "/members/M000001/coupons", None),
    ],
    ids=["redeem", "undo", "list"],
)
def test_a_key_without_the_coupons_scope_is_refused_and_changes_nothing(
    client, runtime, session, shop, coupon, at_till, method, path, body
):
    auth = make_key(runtime.sessions, ("scan", "members"))
    if body is not None:
        body = {**body, "code": coupon.code, **(at_till if path == REDEEM else {})}
    if path == UNDO:
        _post(client, REDEEM, {"code": coupon.code, **at_till}, shop.auth)

    response = getattr(client, method)(f"/api/v1{path}", json=body, headers=auth)

    assert_matches_openapi(response, path if path != "/members/M000001/coupons" else LIST, method)
    assert _error(response) == (403, "scope_missing")
    assert response.get_json()["message_en"] == 'This API key does not have the "coupons" scope needed for this.'
    assert redemptions(session, coupon.id, live_only=True) == (1 if path == UNDO else 0)
