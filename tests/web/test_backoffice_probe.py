"""Odd input a reviewer sent to the back office's pages: each is refused or ignored with a clear page, never a 500,
and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import ApiKey, Staff
from tests.admin_helpers import crew, send, sign_in


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
