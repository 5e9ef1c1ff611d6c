"""POS API keys in the back office: made for a store with its scopes, shown once, revoked after a confirm step,
audited without the key."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.staff.api_keys import create_store_key, hash_key
from models import ApiKey, Staff, StaffAudit, Store
from tests.admin_helpers import crew, send, sign_in
from tests.concurrency import race


@pytest.fixture
def people(runtime):
    return crew(runtime.sessions)


def _create(client, store_id, name="1 號收銀機", scopes=("scan", "coupons")):
    return send(client, "/staff/admin/api-keys", {"store_id": store_id, "name": name, "scopes": list(scopes)})


def _raw_key(page: str) -> str:
    match = re.search(r'id="raw-key" data-testid="raw-key" value="([^"]+)"', page)
    assert match, "no key on the page"
    return match.group(1)


def test_a_new_key_is_shown_once_then_only_its_name_and_it_works_at_the_pos(client, people, session, caplog):
    sign_in(client, "ADMIN")
    caplog.set_level(logging.DEBUG)

    answer = _create(client, people["tpe"].id)

    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    raw_key = _raw_key(answer.get_data(as_text=True))
    stored = session.scalars(select(ApiKey)).one()
    assert (stored.store_id, stored.name, stored.scopes) == (people["tpe"].id, "1 號收銀機", "scan coupons")
    assert stored.key_hash == hash_key(raw_key) and raw_key not in stored.key_hash
    listing = client.get("/staff/admin/api-keys").get_data(as_text=True)
    assert "1 號收銀機" in listing and raw_key not in listing
    assert raw_key not in caplog.text
    (audit,) = session.scalars(select(StaffAudit).where(StaffAudit.action == "api_key.create")).all()
    assert audit.detail == {"store_id": people["tpe"].id, "name": "1 號收銀機", "scopes": "scan coupons"}
    assert raw_key not in str(audit.detail)
    pos = client.get("/api/v1/members/M999999", headers={"Authorization": f"Bearer {raw_key}"})
    assert pos.status_code == 404  # the key is let in (an unknown member, not 401)


def test_a_form_sent_twice_makes_one_key(client, people, session):
    sign_in(client, "ADMIN")

    first = _create(client, people["tpe"].id)
    second = _create(client, people["tpe"].id)

    assert first.status_code == 200 and second.status_code == 422
    assert "這間門市已有同名的有效金鑰" in second.get_data(as_text=True)
    assert len(session.scalars(select(ApiKey)).all()) == 1
    assert _create(client, people["khh"].id).status_code == 200  # another store may use the name


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": ""}, "金鑰名稱必須是 1 到 100 個字"),
        ({"name": "鍵" * 101}, "金鑰名稱必須是 1 到 100 個字"),
        ({"name": "POS\t1"}, "金鑰名稱必須是 1 到 100 個字"),
        ({"scopes": []}, "金鑰權限必須是 scan, coupons, members 其中的一或多個"),
        ({"scopes": ["scan", "root"]}, "金鑰權限必須是 scan, coupons, members 其中的一或多個"),
        ({"store_id": "999"}, "查無此門市"),
        ({"store_id": "abc"}, "查無此門市"),
    ],
)
def test_a_bad_key_form_says_why_and_makes_no_key(client, people, session, form, message):
    sign_in(client, "ADMIN")
    data = {"store_id": people["tpe"].id, "name": "1 號收銀機", "scopes": ["scan"], **form}

    answer = send(client, "/staff/admin/api-keys", data)

    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert session.scalars(select(ApiKey)).first() is None
    assert session.scalars(select(StaffAudit)).first() is None


def test_revoking_asks_first_then_the_key_stops_working_and_twice_is_harmless(client, people, session):
    sign_in(client, "ADMIN")
    raw_key = _raw_key(_create(client, people["tpe"].id, scopes=("members",)).get_data(as_text=True))
    key = session.scalars(select(ApiKey)).one()
    path = f"/staff/admin/api-keys/{key.id}/revoke"

    confirm = client.get(path)
    assert confirm.status_code == 200 and "確定撤銷" in confirm.get_data(as_text=True)
    assert session.scalars(select(ApiKey)).one().revoked_at is None  # asking changes nothing

    first = send(client, path)
    assert first.status_code == 302
    assert "已撤銷金鑰「1 號收銀機」" in client.get(first.headers["Location"]).get_data(as_text=True)
    second = send(client, path)

    assert second.status_code == 302
    assert "金鑰「1 號收銀機」先前已撤銷" in client.get(second.headers["Location"]).get_data(as_text=True)
    assert session.scalars(select(ApiKey)).one().revoked_at is not None
    assert len(session.scalars(select(StaffAudit).where(StaffAudit.action == "api_key.revoke")).all()) == 1
    pos = client.get("/api/v1/members/M999999", headers={"Authorization": f"Bearer {raw_key}"})
    assert pos.status_code == 401


def test_an_unknown_key_is_a_404(client, people):
    sign_in(client, "ADMIN")

    assert client.get("/staff/admin/api-keys/9999/revoke").status_code == 404
    assert send(client, "/staff/admin/api-keys/9999/revoke").status_code == 404


@pytest.mark.parametrize("code", ["M001", "C001", "K001"])
def test_only_admins_make_or_revoke_keys(client, people, session, code):
    sign_in(client, code)

    assert client.get("/staff/admin/api-keys").status_code == 403
    assert _create(client, people["tpe"].id).status_code == 403
    assert session.scalars(select(ApiKey)).first() is None


def test_the_key_list_filters_by_store(client, people):
    sign_in(client, "ADMIN")
    _create(client, people["tpe"].id, name="信義 POS")
    _create(client, people["khh"].id, name="巨蛋 POS")

    tpe = client.get(f"/staff/admin/api-keys?store={people['tpe'].id}").get_data(as_text=True)

    assert "信義 POS" in tpe and "巨蛋 POS" not in tpe


def test_a_form_sent_many_times_at_once_makes_one_key(people, sessions, clock):
    def create(session, i, _all_have_read):
        store = session.get(Store, people["tpe"].id)
        admin = session.get(Staff, people["admin"].id)
        api_key, _ = create_store_key(session, store, "1 號收銀機", ["scan"], actor=admin, at=clock.now())
        return f"key {api_key.id}"

    results = race(sessions, 8, create)

    assert sorted(str(r) for r in results).count("這間門市已有同名的有效金鑰，請換一個名稱（或先撤銷舊的）") == 7
    assert len([r for r in results if str(r).startswith("key ")]) == 1
    with transaction(sessions) as session:
        assert len(session.scalars(select(ApiKey)).all()) == 1
        assert len(session.scalars(select(StaffAudit).where(StaffAudit.action == "api_key.create")).all()) == 1
