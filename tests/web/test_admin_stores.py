"""Admins add and change stores in the back office; the fields are checked and a refusal changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import StaffAudit, Store
from tests.admin_helpers import crew, send, sign_in

STORE = {
    "code": "TPE02",
    "name": "台北南港店",
    "address": "台北市南港區經貿二路 1 號",
    "phone": "02-2655-0000",
    "opening_hours": "每日 10:00–22:00",
}


@pytest.fixture
def people(runtime):
    return crew(runtime.sessions)


def test_an_admin_adds_a_store_that_shoppers_then_see_and_it_is_audited(client, people, session):
    sign_in(client, "ADMIN")

    answer = send(client, "/staff/admin/stores/new", STORE)

    assert answer.status_code == 302 and answer.headers["Location"].endswith("/staff/admin/stores")
    listing = client.get("/staff/admin/stores").get_data(as_text=True)
    assert "已新增門市「台北南港店」" in listing and "TPE02" in listing
    store = session.scalars(select(Store).where(Store.code == "TPE02")).one()
    assert (store.name, store.address, store.is_online) == ("台北南港店", STORE["address"], False)
    audit = session.scalars(select(StaffAudit).where(StaffAudit.action == "store.create")).one()
    assert audit.actor_staff_id == people["admin"].id and audit.target_id == store.id
    assert audit.detail["code"] == "TPE02"


def test_an_admin_edits_a_store_and_only_what_changed_is_audited(client, people, session):
    sign_in(client, "ADMIN")
    store_id = people["tpe"].id

    page = client.get(f"/staff/admin/stores/{store_id}").get_data(as_text=True)
    assert 'value="台北信義店"' in page
    answer = send(
        client,
        f"/staff/admin/stores/{store_id}",
        {"code": "TPE01", "name": "台北信義旗艦店", "address": "", "phone": "02-1234-5678", "opening_hours": ""},
    )

    assert answer.status_code == 302
    store = session.get(Store, store_id)
    assert (store.name, store.phone, store.address) == ("台北信義旗艦店", "02-1234-5678", None)
    audit = session.scalars(select(StaffAudit).where(StaffAudit.action == "store.update")).one()
    assert audit.detail == {"name": "台北信義旗艦店", "phone": "02-1234-5678"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "台北"}, "門市代碼須為 2 到 32 個英文字母、數字、- 或 _"),
        ({"code": "tpe01"}, "門市代碼「tpe01」已有門市使用"),  # codes differ by more than case
        ({"name": ""}, "「門市名稱」最多 100 個字，且不能含控制字元"),
        ({"name": "店" * 101}, "「門市名稱」最多 100 個字，且不能含控制字元"),
        ({"address": "台北市\n南港區"}, "「地址」最多 200 個字，且不能含控制字元"),
        ({"phone": "0" * 33}, "「電話」最多 32 個字，且不能含控制字元"),
        ({"opening_hours": "每日\x00"}, "「營業時間」最多 100 個字，且不能含控制字元"),
    ],
)
def test_a_bad_field_is_named_on_the_form_and_nothing_is_added(client, people, session, change, message):
    sign_in(client, "ADMIN")
    before = session.scalars(select(Store.code).order_by(Store.id)).all()

    answer = send(client, "/staff/admin/stores/new", {**STORE, **change})

    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert session.scalars(select(Store.code).order_by(Store.id)).all() == before
    assert session.scalars(select(StaffAudit)).first() is None


def test_a_refused_edit_changes_nothing_and_keeps_what_was_typed(client, people, session):
    sign_in(client, "ADMIN")
    store_id = people["tpe"].id

    answer = send(client, f"/staff/admin/stores/{store_id}", {**STORE, "code": "KHH01", "name": "改名"})

    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "門市代碼「KHH01」已有門市使用" in page and 'value="改名"' in page
    assert session.get(Store, store_id).name == "台北信義店"


def test_the_same_store_sent_twice_is_added_once(client, people, session):
    sign_in(client, "ADMIN")

    first = send(client, "/staff/admin/stores/new", STORE)
    second = send(client, "/staff/admin/stores/new", STORE)

    assert first.status_code == 302 and second.status_code == 422
    assert len(session.scalars(select(Store).where(Store.code == "TPE02")).all()) == 1


@pytest.mark.parametrize("code", ["M001", "C001", "K001"])
def test_only_admins_manage_stores(client, people, session, code):
    sign_in(client, code)

    assert client.get("/staff/admin/stores").status_code == 403
    assert send(client, "/staff/admin/stores/new", STORE).status_code == 403
    assert session.scalars(select(Store).where(Store.code == "TPE02")).first() is None


def test_a_signed_out_browser_is_sent_to_sign_in_and_a_form_without_its_token_is_refused(client, people, session):
    assert client.get("/staff/admin/stores").status_code == 302

    sign_in(client, "ADMIN")
    answer = client.post("/staff/admin/stores/new", data=STORE)

    assert answer.status_code == 400
    assert session.scalars(select(Store).where(Store.code == "TPE02")).first() is None


def test_an_unknown_store_is_a_404(client, people):
    sign_in(client, "ADMIN")

    assert client.get("/staff/admin/stores/9999").status_code == 404
    assert client.get("/staff/admin/stores/99999999999999999999").status_code == 404
