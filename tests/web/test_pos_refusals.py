"""A service's refusal reaches the POS as its reason's status and error word, with the shared zh-TW text and the
catalogue's English, and a refused scan is still logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.barcode import codes as barcode
from models import Member, ScanLog
from tests.factories import make_member
from tests.helpers import count
from tests.pos import assert_matches_openapi, open_shop


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


def test_a_refund_larger_than_the_purchase_is_answered_with_its_reason(client, runtime, shop):
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as session:
        row = session.get(Member, member.id)
        assert row is not None
        code = barcode.current_code(session, row, datetime.now(UTC)).code
    bought = client.post(
        "/api/v1/purchases", json={"transaction_id": "T-1", "amount": 500, "member_code": code}, headers=shop.auth
    )
    assert bought.status_code == 201

    response = client.post(
        "/api/v1/refunds", json={"transaction_id": "T-1", "refund_id": "R-1", "amount": 501}, headers=shop.auth
    )

    assert response.status_code == 422
    assert response.get_json() == {
        "error": "refund_exceeds_purchase",
        "message": "退款金額超過此交易尚未退款的金額",
        "message_en": "The refund is larger than what is left of the purchase.",
    }
    assert_matches_openapi(response, "/refunds", "post")


def test_erasing_twice_is_answered_already_erased_in_both_languages(client, runtime, shop):
    make_member(runtime.sessions)
    first = client.post("/api/v1/members/M000001/erase", json={"staff_code": "C001"}, headers=shop.auth)

    again = client.post("/api/v1/members/M000001/erase", json={"staff_code": "C001"}, headers=shop.auth)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.get_json() == {
        "error": "already_erased",
        "message": "此會員資料已刪除",
        "message_en": "This membership's personal data has been deleted.",
    }


def test_a_bind_code_for_an_erased_member_is_refused_with_the_reason_in_the_message(client, runtime, shop):
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as session:
        session.get_one(Member, member.id).erased_at = datetime.now(UTC)

    response = client.post("/api/v1/members/M000001/bind-codes", json={"staff_code": "C001"}, headers=shop.auth)

    assert (response.status_code, response.get_json()["error"]) == (409, "cannot_issue_code")
    assert response.get_json()["message"] == "此會員資料已刪除，無法綁定"


def test_a_purchase_with_an_expired_code_is_refused_and_the_scan_stays_logged(client, runtime, shop, session):
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        row = tx.get(Member, member.id)
        assert row is not None
        stale = barcode.current_code(tx, row, datetime.now(UTC) - timedelta(minutes=5)).code

    response = client.post(
        "/api/v1/purchases", json={"transaction_id": "T-9", "amount": 100, "member_code": stale}, headers=shop.auth
    )

    assert response.status_code == 422
    assert response.get_json() == {
        "error": "code_expired",
        "message": "此條碼已過期，請會員在 LINE 會員卡畫面出示最新的條碼（會自動更新）",
        "message_en": "This code has expired. Ask the member to show the latest code on their LINE member card (it "
        "updates by itself).",
    }
    assert session.scalars(select(ScanLog.result)).all() == ["expired"]
    assert count(session, ScanLog) == 1


def test_a_malformed_field_is_one_bad_request_shape_on_every_endpoint(client, runtime, shop):
    make_member(runtime.sessions)
    answers = [
        client.post(
            "/api/v1/purchases", json={"transaction_id": "", "amount": 1, "member_code": "1"}, headers=shop.auth
        ),
        client.post("/api/v1/stamps", json={"member_code": "", "staff_code": "C001"}, headers=shop.auth),
        client.post("/api/v1/coupons/redeem", json={"code": ""}, headers=shop.auth),
        client.post("/api/v1/scan", json={"code": ""}, headers=shop.auth),
    ]

    assert [a.status_code for a in answers] == [400] * 4
    assert [a.get_json()["error"] for a in answers] == ["invalid_request"] * 4
    assert answers[0].get_json()["message"] == "transaction_id 必須是 1 到 100 字的文字"
    assert answers[0].get_json()["message_en"] == "transaction_id must be text of 1 to 100 characters."
