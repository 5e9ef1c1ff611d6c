"""Staff accounts in the back office: admins manage everyone, a store manager only their own store's clerks; the
last admin stays; changes to what someone may do sign them out; a refusal changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Staff, StaffAudit
from tests.admin_helpers import crew, send, sign_in
from tests.factories import make_staff

NEW_CLERK = {
    "code": "C003",
    "name": "李小華",
    "role": "clerk",
    "password": "first-pass-123",
    "repeat": "first-pass-123",
}


@pytest.fixture
def people(runtime):
    return crew(runtime.sessions)


def _staff(session, code):
    return session.scalars(select(Staff).where(Staff.code == code)).one_or_none()


def _audit(session, action):
    return session.scalars(select(StaffAudit).where(StaffAudit.action == action)).all()


def test_an_admin_adds_a_clerk_who_can_then_sign_in(app, client, people, session):
    sign_in(client, "ADMIN")

    answer = send(client, "/staff/admin/staff/new", {**NEW_CLERK, "store_id": people["khh"].id})

    assert answer.status_code == 302
    assert "已新增員工「李小華」" in client.get(answer.headers["Location"]).get_data(as_text=True)
    clerk = _staff(session, "C003")
    assert (clerk.role, clerk.store_id, clerk.is_active) == ("clerk", people["khh"].id, True)
    sign_in(app.test_client(), "C003", "first-pass-123")
    (audit,) = _audit(session, "staff.create")
    assert audit.actor_staff_id == people["admin"].id and "first-pass-123" not in str(audit.detail)


def test_the_staff_list_filters_by_store_and_by_active_or_not(client, people, runtime):
    make_staff(runtime.sessions, code="C009", name="離職的人", store=people["tpe"], active=False, password=None)
    sign_in(client, "ADMIN")

    everyone = client.get("/staff/admin/staff").get_data(as_text=True)
    khh = client.get(f"/staff/admin/staff?store={people['khh'].id}").get_data(as_text=True)
    gone = client.get("/staff/admin/staff?active=0").get_data(as_text=True)
    no_store = client.get("/staff/admin/staff?store=none").get_data(as_text=True)

    assert all(code in everyone for code in ("ADMIN", "M001", "C001", "C101", "K001", "C009"))
    assert "C101" in khh and "C001" not in khh
    assert "C009" in gone and "C001" not in gone
    assert "ADMIN" in no_store and "K001" in no_store and "C001" not in no_store


def test_a_manager_sees_and_manages_only_their_own_stores_clerks(client, people):
    sign_in(client, "M001")

    listing = client.get("/staff/admin/staff?store=" + str(people["khh"].id)).get_data(as_text=True)

    assert "C001" in listing and "C101" not in listing  # the store filter is theirs, whatever is asked
    assert f"/staff/admin/staff/{people['clerk'].id}" in listing
    assert f'/staff/admin/staff/{people["manager"].id}"' not in listing  # not even themselves
    assert client.get(f"/staff/admin/staff/{people['clerk'].id}").status_code == 200
    for other in ("other_clerk", "admin", "marketer", "manager"):
        answer = client.get(f"/staff/admin/staff/{people[other].id}")
        assert answer.status_code == 403, other
        assert "您只能管理自己門市的資料" in answer.get_data(as_text=True)


def test_a_manager_adds_a_clerk_to_their_own_store_whatever_the_form_says(client, people, session):
    sign_in(client, "M001")

    answer = send(client, "/staff/admin/staff/new", {**NEW_CLERK, "store_id": people["khh"].id, "role": "admin"})

    assert answer.status_code == 302
    clerk = _staff(session, "C003")
    assert (clerk.role, clerk.store_id) == ("clerk", people["tpe"].id)


def test_a_manager_cannot_touch_another_stores_clerk(client, people, session):
    sign_in(client, "M001")
    other = people["other_clerk"]

    edit = send(client, f"/staff/admin/staff/{other.id}", {"code": "C101", "name": "改名"})
    off = send(client, f"/staff/admin/staff/{other.id}/active", {"active": "0"})
    password = send(client, f"/staff/admin/staff/{other.id}/password", {"password": "x" * 12, "repeat": "x" * 12})

    assert edit.status_code == off.status_code == password.status_code == 403
    assert "您只能管理自己門市的資料" in off.get_data(as_text=True)
    after = session.get(Staff, other.id)
    assert (after.name, after.is_active, after.session_version) == ("張小明", True, 1)
    assert session.scalars(select(StaffAudit)).first() is None


def test_a_clerk_and_a_marketer_get_403_on_every_admin_page(client, people):
    for code in ("C001", "K001"):
        browser = client.application.test_client()
        sign_in(browser, code)
        for path in (
            "/staff/admin/staff",
            "/staff/admin/staff/new",
            "/staff/admin/stores",
            "/staff/admin/api-keys",
            "/staff/admin/audit",
            f"/staff/admin/staff/{people['clerk'].id}",
        ):
            assert browser.get(path).status_code == 403, (code, path)
        assert send(browser, "/staff/admin/staff/new", {**NEW_CLERK, "store_id": people["tpe"].id}).status_code == 403


def test_an_admin_changes_a_clerks_store_and_role_which_signs_them_out(app, client, people, session):
    clerk_browser = app.test_client()
    sign_in(clerk_browser, "C001")
    assert clerk_browser.get("/staff/").status_code == 200
    sign_in(client, "ADMIN")
    clerk = people["clerk"]

    answer = send(
        client,
        f"/staff/admin/staff/{clerk.id}",
        {"code": "C001", "name": "王小美", "role": "manager", "store_id": people["khh"].id},
    )

    assert answer.status_code == 302
    after = session.get(Staff, clerk.id)
    assert (after.role, after.store_id) == ("manager", people["khh"].id)
    assert clerk_browser.get("/staff/").status_code == 302  # signed out
    (audit,) = _audit(session, "staff.update")
    assert audit.detail == {"role": "manager", "store_id": people["khh"].id}


def test_a_new_name_keeps_the_session_and_an_unchanged_form_records_nothing(app, client, people, session):
    clerk_browser = app.test_client()
    sign_in(clerk_browser, "C001")
    sign_in(client, "M001")
    path = f"/staff/admin/staff/{people['clerk'].id}"

    send(client, path, {"code": "C001", "name": "王美美"})
    again = send(client, path, {"code": "C001", "name": "王美美"})

    assert session.get(Staff, people["clerk"].id).name == "王美美"
    assert "沒有任何變更" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert len(_audit(session, "staff.update")) == 1
    assert clerk_browser.get("/staff/").status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "C 3"}, "員工編號須為 2 到 32 個英文字母、數字、- 或 _"),
        ({"code": "c001"}, "員工編號「c001」已有人使用"),
        ({"name": ""}, "姓名必須是 1 到 100 個字"),
        ({"name": "名" * 101}, "姓名必須是 1 到 100 個字"),
        ({"name": "王\u200b小\x07美"}, "姓名必須是 1 到 100 個字"),
        ({"role": "owner"}, "角色必須是管理員、店長、店員或行銷人員"),
        ({"store_id": ""}, "店長與店員必須指定所屬門市"),
        ({"password": "short", "repeat": "short"}, "密碼至少需要 10 個字元"),
        ({"repeat": "something-else"}, "兩次輸入的新密碼不一致"),
        ({"password": "p" * 201, "repeat": "p" * 201}, "密碼最多 200 個字元"),
    ],
)
def test_a_bad_staff_form_says_why_and_adds_no_one(client, people, session, change, message):
    sign_in(client, "ADMIN")

    answer = send(client, "/staff/admin/staff/new", {**NEW_CLERK, "store_id": people["tpe"].id, **change})

    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and message in page
    assert _staff(session, "C003") is None and not _audit(session, "staff.create")


def test_the_same_new_clerk_sent_twice_is_added_once(client, people, session):
    sign_in(client, "ADMIN")
    form = {**NEW_CLERK, "store_id": people["tpe"].id}

    assert send(client, "/staff/admin/staff/new", form).status_code == 302
    assert send(client, "/staff/admin/staff/new", form).status_code == 422
    assert len(_audit(session, "staff.create")) == 1


def test_deactivating_a_clerk_signs_them_out_and_twice_is_harmless(app, client, people, session):
    clerk_browser = app.test_client()
    sign_in(clerk_browser, "C001")
    sign_in(client, "M001")
    path = f"/staff/admin/staff/{people['clerk'].id}/active"

    first = send(client, path, {"active": "0"})
    second = send(client, path, {"active": "0"})

    assert first.status_code == second.status_code == 302
    assert session.get(Staff, people["clerk"].id).is_active is False
    assert clerk_browser.get("/staff/").status_code == 302
    assert len(_audit(session, "staff.deactivate")) == 1
    assert send(client, path, {"active": "1"}).status_code == 302
    assert session.get(Staff, people["clerk"].id).is_active is True


def test_the_last_admin_cannot_be_deactivated_or_demoted(client, people, session):
    sign_in(client, "ADMIN")
    admin = people["admin"]

    off = send(client, f"/staff/admin/staff/{admin.id}/active", {"active": "0"})
    demoted = send(
        client, f"/staff/admin/staff/{admin.id}", {"code": "ADMIN", "name": "系統管理員", "role": "marketer"}
    )

    assert off.status_code == demoted.status_code == 422
    assert "這是最後一位在職的管理員" in off.get_data(as_text=True)
    assert "這是最後一位在職的管理員" in demoted.get_data(as_text=True)
    after = session.get(Staff, admin.id)
    assert (after.is_active, after.role, after.session_version) == (True, "admin", 1)
    assert client.get("/staff/admin/stores").status_code == 200  # still signed in


def test_resetting_a_password_signs_the_clerk_out_and_the_new_one_works(app, client, people, session):
    clerk_browser = app.test_client()
    sign_in(clerk_browser, "C001")
    sign_in(client, "M001")
    path = f"/staff/admin/staff/{people['clerk'].id}/password"

    short = send(client, path, {"password": "short", "repeat": "short"})
    answer = send(client, path, {"password": "reset-pass-456", "repeat": "reset-pass-456"})

    assert short.status_code == 422 and "密碼至少需要 10 個字元" in short.get_data(as_text=True)
    assert answer.status_code == 302
    assert clerk_browser.get("/staff/").status_code == 302
    sign_in(app.test_client(), "C001", "reset-pass-456")
    (audit,) = _audit(session, "staff.password")
    assert "reset-pass-456" not in str(audit.detail) and audit.actor_staff_id == people["manager"].id


def test_an_admin_resetting_their_own_password_stays_signed_in_here_only(app, client, people):
    other_browser = app.test_client()
    sign_in(other_browser, "ADMIN")
    sign_in(client, "ADMIN")
    path = f"/staff/admin/staff/{people['admin'].id}/password"

    answer = send(client, path, {"password": "new-admin-pass", "repeat": "new-admin-pass"})

    assert answer.status_code == 302
    assert client.get("/staff/admin/stores").status_code == 200
    assert other_browser.get("/staff/admin/stores").status_code == 302


def test_an_unknown_staff_member_is_a_404(client, people):
    sign_in(client, "ADMIN")

    assert client.get("/staff/admin/staff/9999").status_code == 404
    assert send(client, "/staff/admin/staff/9999/active", {"active": "0"}).status_code == 404
