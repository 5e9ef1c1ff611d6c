"""Leaving the programme: personal data is erased, the LINE account unbound, the ledger kept, the request recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.refusal_texts import text_for
from bot.services.membership.erasure import request_erasure
from bot.services.refusals import Reason, Refused
from models import BindingAudit, ErasureRequest, LineUser, Member, PhoneVerification, PointEntry
from tests.factories import make_member
from tests.helpers import count
from tests.pos import Shop, assert_matches_openapi, make_key, make_line_user, open_shop

ERASE = "/members/{member_number}/erase"


def erase(
    runtime, member_id: int, channel: str = "chat", now: datetime | None = None, shop: Shop | None = None
) -> ErasureRequest:
    """Erase through the service; on the "api" channel at `shop`'s store by its clerk C001."""
    at_counter = {"store_id": shop.store_id, "staff_id": shop.clerk_id} if shop else {}
    with transaction(runtime.sessions) as tx:
        member = tx.get(Member, member_id)
        assert member is not None
        return request_erasure(tx, member, channel, now or datetime.now(UTC), **at_counter)


def ledger_sum(session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0))) or 0)


def test_leaving_erases_personal_data_unbinds_keeps_the_ledger_and_records_the_request(runtime, session):
    line_user = make_line_user(runtime.sessions)
    member = make_member(runtime.sessions, points=320, line_user=line_user)
    with transaction(runtime.sessions) as tx:
        code = PhoneVerification(
            phone_e164="+886912345678", line_user_id=line_user.id, code_hash="x" * 64, expires_at=datetime.now(UTC)
        )
        tx.add(code)
    now = datetime.now(UTC)

    request = erase(runtime, member.id, now=now)

    left = session.get(Member, member.id)
    assert (left.name, left.phone_e164, left.birthday, left.line_user_id) == (None, None, None, None)
    assert left.erased_at == now and left.member_number == "M000001"
    assert ledger_sum(session) == 320 and count(session, PointEntry) == 1
    recorded = session.scalars(select(ErasureRequest)).one()
    assert (recorded.id, recorded.member_id, recorded.channel, recorded.completed_at) == (
        request.id,
        member.id,
        "chat",
        now,
    )
    assert (recorded.store_id, recorded.staff_id) == (None, None)
    audit = session.scalars(select(BindingAudit)).one()
    assert (audit.action, audit.channel, audit.line_user_id) == ("unbind", "chat", line_user.id)
    assert session.scalars(select(LineUser.rich_menu_state).where(LineUser.id == line_user.id)).one() == "guest"
    assert count(session, PhoneVerification) == 0


def test_a_member_who_was_not_bound_is_erased_without_an_unbind(runtime, session):
    member = make_member(runtime.sessions)

    erase(runtime, member.id, channel="api", shop=open_shop(runtime.sessions))

    assert session.get(Member, member.id).erased_at is not None
    assert count(session, BindingAudit) == 0


def test_asking_twice_records_nothing_new(runtime, session):
    member = make_member(runtime.sessions, line_user=make_line_user(runtime.sessions))
    erase(runtime, member.id)

    with pytest.raises(Refused) as refused:
        erase(runtime, member.id)

    assert refused.value.reason == Reason.ALREADY_ERASED and text_for(refused.value) == "此會員資料已刪除"
    assert count(session, ErasureRequest) == 1 and count(session, BindingAudit) == 1


def test_the_brands_staff_erase_a_member_through_the_api(client, runtime, session):
    shop = open_shop(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    make_member(runtime.sessions, points=50, line_user=line_user)

    response = client.post("/api/v1/members/M000001/erase", json={"staff_code": "C001"}, headers=shop.auth)

    assert response.status_code == 200
    assert_matches_openapi(response, ERASE, "post")
    body = response.get_json()
    assert body["member"] == {
        "member_number": "M000001",
        "name": None,
        "tier": "regular",
        "points": 50,
        "bound": False,
        "phone_masked": None,
        "erased": True,
    }
    recorded = session.scalars(select(ErasureRequest)).one()
    assert (recorded.channel, recorded.store_id, recorded.staff_id) == ("api", shop.store_id, shop.clerk_id)
    audit = session.scalars(select(BindingAudit)).one()
    assert (audit.channel, audit.staff_id, audit.store_id) == ("api", shop.clerk_id, shop.store_id)

    again = client.post("/api/v1/members/M000001/erase", json={"staff_code": "C001"}, headers=shop.auth)

    assert again.status_code == 409
    assert again.get_json()["message"] == "此會員資料已刪除"
    assert_matches_openapi(again, ERASE, "post")
    assert count(session, ErasureRequest) == 1


def test_an_erased_member_still_shows_to_the_pos_without_personal_data(client, runtime):
    shop = open_shop(runtime.sessions)
    member = make_member(runtime.sessions, points=10)
    erase(runtime, member.id, channel="api", shop=shop)

    response = client.get("/api/v1/members/M000001", headers=shop.auth)

    assert response.get_json()["erased"] is True and response.get_json()["name"] is None
    assert response.get_json()["points"] == 10


def test_an_erasure_at_a_counter_names_its_store_and_clerk(runtime, session):
    member = make_member(runtime.sessions)

    with pytest.raises(ValueError), transaction(runtime.sessions) as tx:
        request_erasure(tx, tx.get_one(Member, member.id), "api", datetime.now(UTC))

    assert session.get(Member, member.id).erased_at is None and count(session, ErasureRequest) == 0


@pytest.mark.parametrize(
    "body",
    [None, {}, {"staff_code": ""}, {"staff_code": "C002"}, {"staff_code": "K001"}],
    ids=["no-body", "no-clerk", "empty-clerk", "clerk-gone", "other-stores-clerk"],
)
def test_the_api_erases_nobody_without_an_active_clerk_of_the_keys_store(client, runtime, session, body):
    shop = open_shop(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    member = make_member(runtime.sessions, line_user=line_user)

    response = client.post("/api/v1/members/M000001/erase", json=body, headers=shop.auth)

    assert response.status_code in (400, 422)
    assert_matches_openapi(response, ERASE, "post")
    left = session.get(Member, member.id)
    assert (left.name, left.line_user_id, left.erased_at) == ("林怡君", line_user.id, None)
    assert count(session, ErasureRequest) == 0 and count(session, BindingAudit) == 0


def test_a_key_without_the_members_scope_erases_nobody(client, runtime, session):
    open_shop(runtime.sessions)
    member = make_member(runtime.sessions)
    auth = make_key(runtime.sessions, ("scan", "coupons"))

    response = client.post("/api/v1/members/M000001/erase", json={"staff_code": "C001"}, headers=auth)

    assert response.status_code == 403 and response.get_json()["error"] == "scope_missing"
    assert_matches_openapi(response, ERASE, "post")
    assert session.get(Member, member.id).erased_at is None and count(session, ErasureRequest) == 0
