"""Signing in to the back office and sending its forms from the Flask test client (the admin pages' tests)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import update

from bot.db import transaction
from bot.services.staff.accounts import hash_password
from models import Staff
from tests.binding_helpers import field
from tests.factories import STAFF_PASSWORD, make_staff, make_store


def sign_in(client: Any, code: str, password: str = STAFF_PASSWORD) -> None:
    """Sign `client` in as staff member `code`."""
    page = client.get("/staff/login").get_data(as_text=True)
    answer = client.post(
        "/staff/login", data={"code": code, "password": password, "csrf_token": field(page, "csrf_token")}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)


def send(client: Any, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """POST a back-office form with this session's CSRF token."""
    token = field(client.get("/staff/password").get_data(as_text=True), "csrf_token")
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


@cache
def _password_hash() -> str:
    return hash_password(STAFF_PASSWORD)


def crew(sessions: Any) -> dict[str, Any]:
    """Two stores and their people: an admin, TPE01's manager M001 and clerk C001, KHH01's clerk C101, a marketer;
    each signs in with STAFF_PASSWORD (hashed once for the whole run: Argon2 is slow on purpose)."""
    tpe = make_store(sessions)
    khh = make_store(sessions, code="KHH01", name="高雄巨蛋店")
    people = {
        "admin": make_staff(sessions, code="ADMIN", name="系統管理員", role="admin", password=None),
        "manager": make_staff(sessions, code="M001", name="林店長", role="manager", store=tpe, password=None),
        "clerk": make_staff(sessions, code="C001", name="王小美", store=tpe, password=None),
        "other_clerk": make_staff(sessions, code="C101", name="張小明", store=khh, password=None),
        "marketer": make_staff(sessions, code="K001", name="行銷小組", role="marketer", password=None),
    }
    with transaction(sessions) as session:
        session.execute(update(Staff).values(password_hash=_password_hash()))
    return {"tpe": tpe, "khh": khh, **people}
