"""Staff sign in to the back office with their staff number and password; sessions end when they should."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main as omo
from bot.db import transaction
from bot.services.staff.accounts import set_active, set_password
from models import Staff, StaffAudit
from tests.binding_helpers import field
from tests.factories import STAFF_PASSWORD, make_staff

WRONG = "員工編號或密碼不正確"


def sign_in(client, code: str, password: str, next_path: str | None = None):
    page = client.get("/staff/login").get_data(as_text=True)
    url = "/staff/login" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data={"code": code, "password": password, "csrf_token": field(page, "csrf_token")})


@pytest.fixture
def clerk(runtime):
    return make_staff(runtime.sessions)


def test_a_clerk_signs_in_with_their_staff_number_and_password(client, clerk, session):
    answer = sign_in(client, "c001", STAFF_PASSWORD)  # the staff number is not case-sensitive

    assert answer.status_code == 302
    home = client.get(answer.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "王小美" in home
    assert session.get(Staff, clerk.id).last_login_at is not None


def test_a_wrong_password_and_an_unknown_number_get_the_same_answer_and_no_session(client, clerk, session):
    wrong_password = sign_in(client, "C001", "not-the-password")
    unknown_number = sign_in(client, "Z999", STAFF_PASSWORD)

    assert wrong_password.status_code == unknown_number.status_code == 401
    assert WRONG in wrong_password.get_data(as_text=True)
    assert WRONG in unknown_number.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302  # still signed out
    assert session.get(Staff, clerk.id).last_login_at is None


def test_five_wrong_passwords_lock_the_staff_number_even_for_the_right_one(client, clerk):
    for _ in range(5):
        assert sign_in(client, "C001", "guess-guess-guess").status_code == 401

    locked = sign_in(client, "C001", STAFF_PASSWORD)

    assert locked.status_code == 429
    assert "登入失敗次數過多" in locked.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("code", ["C001\x00", "\x00", "C0\x0001"])
def test_a_staff_number_with_a_nul_is_a_wrong_sign_in_not_a_500(client, clerk, code):
    answer = sign_in(client, code, STAFF_PASSWORD)  # PostgreSQL cannot even compare a text with a NUL

    assert answer.status_code == 401
    assert WRONG in answer.get_data(as_text=True)


def test_a_sign_in_without_the_csrf_token_is_refused(client, clerk):
    answer = client.post("/staff/login", data={"code": "C001", "password": STAFF_PASSWORD})

    assert answer.status_code == 400
    assert client.get("/staff/").status_code == 302


def test_a_staff_member_without_a_password_or_deactivated_cannot_sign_in(client, runtime):
    make_staff(runtime.sessions, code="C010", password=None)
    make_staff(runtime.sessions, code="C011", active=False)

    assert sign_in(client, "C010", "").status_code == 401
    assert sign_in(client, "C011", STAFF_PASSWORD).status_code == 401


def test_a_page_asks_for_sign_in_and_goes_back_there_after(client, clerk):
    asked = client.get("/staff/password")

    assert asked.status_code == 302 and "/staff/login" in asked.headers["Location"]
    after = sign_in(client, "C001", STAFF_PASSWORD, next_path="/staff/password")
    assert after.headers["Location"].endswith("/staff/password")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_sends_the_browser_to_another_site(client, clerk, target):
    answer = sign_in(client, "C001", STAFF_PASSWORD, next_path=target)

    assert "evil.example" not in answer.headers["Location"]


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: a=b", "/staff/\x00", "/\u3000/evil.example"])
def test_a_next_page_with_control_characters_is_not_followed_and_not_a_500(client, clerk, target):
    page = client.get("/staff/login").get_data(as_text=True)
    form = {"code": "C001", "password": STAFF_PASSWORD, "csrf_token": field(page, "csrf_token")}

    signed_in = client.post("/staff/login", query_string={"next": target}, data=form)
    switched = client.get("/staff/language/en", query_string={"next": target})

    assert signed_in.status_code == switched.status_code == 302
    assert signed_in.headers["Location"].endswith("/counter")
    assert switched.headers["Location"].endswith("/staff/login")


def test_deactivating_a_clerk_ends_their_session(client, clerk, runtime, clock):
    sign_in(client, "C001", STAFF_PASSWORD)
    assert client.get("/staff/").status_code == 200

    with transaction(runtime.sessions) as db:
        set_active(db, db.get(Staff, clerk.id), False, actor=None, at=clock.now())

    answer = client.get("/staff/")
    assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]


def test_a_new_password_ends_every_other_session(app, clerk, runtime, clock):
    counter_pc, phone = app.test_client(), app.test_client()
    sign_in(counter_pc, "C001", STAFF_PASSWORD)
    sign_in(phone, "C001", STAFF_PASSWORD)

    page = phone.get("/staff/password").get_data(as_text=True)
    changed = phone.post(
        "/staff/password",
        data={
            "current": STAFF_PASSWORD,
            "new": "a-brand-new-pass",
            "repeat": "a-brand-new-pass",
            "csrf_token": field(page, "csrf_token"),
        },
    )

    assert changed.status_code == 200 and "密碼已更新" in changed.get_data(as_text=True)
    assert phone.get("/staff/").status_code == 200
    assert counter_pc.get("/staff/").status_code == 302
    assert sign_in(app.test_client(), "C001", "a-brand-new-pass").status_code == 302


def test_a_wrong_current_password_changes_nothing(client, clerk, session):
    sign_in(client, "C001", STAFF_PASSWORD)
    page = client.get("/staff/password").get_data(as_text=True)
    before = session.get(Staff, clerk.id).password_hash

    answer = client.post(
        "/staff/password",
        data={
            "current": "wrong-wrong",
            "new": "another-pass-1",
            "repeat": "another-pass-1",
            "csrf_token": field(page, "csrf_token"),
        },
    )

    assert answer.status_code == 422 and "目前的密碼不正確" in answer.get_data(as_text=True)
    assert session.get(Staff, clerk.id).password_hash == before
    assert session.scalars(select(StaffAudit).where(StaffAudit.action == "staff.password")).first() is None


def test_an_over_long_new_password_is_refused_not_cut(client, clerk, session):
    sign_in(client, "C001", STAFF_PASSWORD)
    page = client.get("/staff/password").get_data(as_text=True)
    before = session.get(Staff, clerk.id).password_hash
    long_password = "p" * 250

    answer = client.post(
        "/staff/password",
        data={
            "current": STAFF_PASSWORD,
            "new": long_password,
            "repeat": long_password,
            "csrf_token": field(page, "csrf_token"),
        },
    )

    assert answer.status_code == 422 and "密碼最多 200 個字元" in answer.get_data(as_text=True)
    assert session.get(Staff, clerk.id).password_hash == before


def test_an_idle_session_ends(client, clerk, monkeypatch):
    sign_in(client, "C001", STAFF_PASSWORD)
    import bot.web.backoffice as backoffice

    later = backoffice.time.time() + 3 * 3600
    monkeypatch.setattr(backoffice.time, "time", lambda: later)

    answer = client.get("/staff/")
    assert answer.status_code == 302
    assert "登入已逾時" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_signing_out_needs_the_form_and_ends_the_session(client, clerk):
    sign_in(client, "C001", STAFF_PASSWORD)
    page = client.get("/staff/").get_data(as_text=True)

    assert client.post("/staff/logout").status_code == 400  # no CSRF token: a link elsewhere cannot sign you out
    assert client.get("/staff/").status_code == 200
    client.post("/staff/logout", data={"csrf_token": field(page, "csrf_token")})
    assert client.get("/staff/").status_code == 302


def test_the_pages_switch_to_english(client, clerk):
    client.get("/staff/language/en?next=/staff/login")

    page = client.get("/staff/login").get_data(as_text=True)

    assert "Staff sign-in" in page and "員工登入" not in page
    assert 'lang="en"' in page


def test_passwords_are_stored_as_argon2id_hashes_and_changes_are_audited(runtime, clerk, clock, session):
    with transaction(runtime.sessions) as db:
        set_password(db, db.get(Staff, clerk.id), "a-fresh-password", actor=None, at=clock.now())

    stored = session.get(Staff, clerk.id).password_hash
    assert stored.startswith("$argon2id$") and "a-fresh-password" not in stored
    audit = session.scalars(select(StaffAudit).where(StaffAudit.target_id == clerk.id)).all()
    assert [row.action for row in audit] == ["staff.password"]
    assert "a-fresh-password" not in str(audit[0].detail)


def test_omo_staff_create_admin_makes_an_admin_who_can_sign_in(app, settings, monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)

    made = CliRunner().invoke(
        omo, ["staff", "create-admin", "--code", "BOSS", "--name", "老闆"], input="boss-pass-123\nboss-pass-123\n"
    )
    short = CliRunner().invoke(omo, ["staff", "create-admin", "--code", "BOSS2", "--name", "x"], input="short\nshort\n")

    assert made.exit_code == 0, made.output
    assert short.exit_code != 0 and "at least 10" in short.output
    assert sign_in(app.test_client(), "BOSS", "boss-pass-123").status_code == 302


def test_a_command_without_its_settings_says_which_are_missing_instead_of_a_traceback(monkeypatch):
    for name in ("APP_ENV", "DATABASE_URL", "SECRET_KEY", "LINE_CHANNEL_SECRET"):
        monkeypatch.delenv(name, raising=False)

    answer = CliRunner().invoke(omo, ["api-keys", "create", "--store", "TPE01", "--name", "POS 1"])

    assert answer.exit_code == 1
    assert "Missing required environment variable" in answer.output and "APP_ENV=development" in answer.output
    assert not re.search(r"Traceback", answer.output)
