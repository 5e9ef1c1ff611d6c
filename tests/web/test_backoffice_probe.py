"""Odd input a reviewer sent to the back office's pages: each is refused or ignored with a clear page, never a 500,
and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import MAX_REQUEST_BYTES
from models import ApiKey, Staff
from tests.admin_helpers import crew, send, sign_in
from tests.counter_helpers import Counter


@pytest.fixture
def people(runtime):
    return crew(runtime.sessions)


# "²" and "١" are digits to str.isdigit(); "²" is no number to int().
@pytest.mark.parametrize("number", ["²", "١", "٣²"])
@pytest.mark.parametrize(
    "path",
    [
        "/staff/admin/staff?store={n}",
        "/staff/admin/api-keys?store={n}",
        "/staff/admin/audit?store={n}",
        "/staff/admin/audit?before={n}",
    ],
)
def test_a_non_ascii_digit_in_a_filter_is_no_filter_not_a_500(client, people, path, number):
    sign_in(client, "ADMIN")

    assert client.get(path.format(n=number)).status_code == 200


def test_a_non_ascii_digit_as_a_forms_store_is_refused_and_adds_nothing(client, people, session):
    sign_in(client, "ADMIN")
    form = {"code": "C003", "name": "李小華", "role": "clerk", "password": "", "repeat": "", "store_id": "²"}

    new_staff = send(client, "/staff/admin/staff/new", form)
    new_key = send(client, "/staff/admin/api-keys", {"store_id": "²", "name": "till", "scopes": "scan"})
    edit = send(client, f"/staff/admin/staff/{people['clerk'].id}", {**form, "code": "C001"})

    assert new_staff.status_code == edit.status_code == new_key.status_code == 422
    assert "查無此門市" in new_key.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ApiKey)) == 0
    assert session.scalar(select(Staff).where(Staff.code == "C003")) is None
    session.expire_all()
    assert session.get(Staff, people["clerk"].id).store_id == people["tpe"].id


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/staff/logout", 405, "這個網址不能直接開啟"),
        ("GET", "/staff/admin/staff/1/active", 405, "這個網址不能直接開啟"),
        ("PUT", "/staff/login", 405, "這個網址不能直接開啟"),
        ("GET", "/staff/admin/nothing-here", 404, "找不到這個頁面"),
        ("GET", "/staff/admin/staff/99999999999", 404, "找不到這個頁面"),
    ],
)
def test_a_wrong_method_or_address_in_the_back_office_is_a_page_in_the_staff_language(
    client, people, method, path, status, message
):
    sign_in(client, "ADMIN")

    answer = client.open(path, method=method)
    client.get("/staff/language/en")
    english = client.open(path, method=method)

    assert answer.status_code == english.status_code == status
    assert status != 405 or "POST" in answer.headers["Allow"]
    assert message in answer.get_data(as_text=True)
    assert message not in english.get_data(as_text=True) and "Method Not Allowed" not in english.get_data(as_text=True)


def test_a_body_too_large_at_the_counter_answers_the_counters_json_and_a_get_gets_a_page(client, people):
    counter = Counter(client)
    too_large = client.post(
        "/counter/scan",
        data=b'{"code": "' + b"1" * (MAX_REQUEST_BYTES + 1) + b'"}',
        content_type="application/json",
        headers={"X-CSRFToken": counter.csrf},
    )

    assert too_large.status_code == 413
    assert too_large.get_json()["ok"] is False and "太大" in too_large.get_json()["message"]
    assert "這個網址不能直接開啟" in client.get("/counter/scan").get_data(as_text=True)


def test_other_sites_pages_keep_their_own_not_found(client):
    assert "找不到這個頁面" not in client.get("/api/v1/nothing-here").get_data(as_text=True)
