"""The POS API: store keys guard every endpoint; a store looks a member up and a clerk unbinds a LINE account."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.db import transaction
from bot.services.staff.api_keys import hash_key, revoke_api_key
from models import ApiKey, BindCode, BindingAudit, ErasureRequest, Member
from tests.factories import make_member
from tests.helpers import count
from tests.pos import assert_matches_openapi, make_line_user, open_shop

MEMBER = "/members/{member_number}"


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


def _revoked_key(runtime, shop):
    with transaction(runtime.sessions) as tx:
        key_id = tx.scalars(select(ApiKey.id).where(ApiKey.key_hash == hash_key(shop.key))).one()
        revoke_api_key(tx, key_id, now=datetime.now(UTC))
    return shop.key


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-key", "Basic dXNlcjpwYXNz", "Bearer", "revoked"],
    ids=["missing", "unknown", "not-bearer", "empty", "revoked"],
)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "", None),
        ("post", "/bind-codes", {"staff_code": "C001"}),
        ("post", "/unbind", {"staff_code": "C001"}),
        ("post", "/erase", None),
    ],
    ids=["lookup", "bind-code", "unbind", "erase"],
)
def test_a_request_without_a_live_store_key_is_refused_and_changes_nothing(
    client, runtime, session, shop, authorization, method, path, body
):
    line_user = make_line_user(runtime.sessions)
    make_member(runtime.sessions, line_user=line_user)
    if authorization == "revoked":
        authorization = f"Bearer {_revoked_key(runtime, shop)}"
    headers = {"Authorization": authorization} if authorization else {}

    response = getattr(client, method)(f"/api/v1/members/M000001{path}", json=body, headers=headers)

    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.get_json()["message"] == "未提供有效的 API 金鑰（缺少、錯誤或已停用）"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_matches_openapi(response, MEMBER + (path or ""), method)
    member = session.scalars(select(Member)).one()
    assert member.line_user_id == line_user.id and member.name == "林怡君" and member.erased_at is None
    assert count(session, BindCode) == count(session, BindingAudit) == count(session, ErasureRequest) == 0


def test_a_store_looks_a_member_up_and_sees_the_phone_only_masked(client, runtime, shop):
    make_member(runtime.sessions, points=120)

    response = client.get("/api/v1/members/M000001", headers=shop.auth)

    assert response.status_code == 200
    assert response.get_json() == {
        "member_number": "M000001",
        "name": "林怡君",
        "tier": "regular",
        "points": 120,
        "bound": False,
        "phone_masked": "+886*****5678",
        "erased": False,
    }
    assert "912345678" not in response.get_data(as_text=True)
    assert_matches_openapi(response, MEMBER, "get")


def test_a_member_who_never_earned_shows_0_points_and_a_number_with_spaces_or_nul_is_handled(client, runtime, shop):
    make_member(runtime.sessions)  # no points: no balance row yet

    padded = client.get("/api/v1/members/%20M000001%20", headers=shop.auth)
    nul = client.get("/api/v1/members/M000001%00", headers=shop.auth)

    assert (padded.status_code, padded.get_json()["points"], padded.get_json()["member_number"]) == (200, 0, "M000001")
    assert (nul.status_code, nul.get_json()["error"]) == (404, "member_not_found")


def test_an_unknown_member_number_is_answered_404(client, shop):
    response = client.get("/api/v1/members/M404", headers=shop.auth)

    assert response.status_code == 404
    assert response.get_json()["message"] == "查無此會員編號"
    assert_matches_openapi(response, MEMBER, "get")


def test_a_clerk_unbinds_a_member_and_the_audit_names_the_clerk_and_store(client, runtime, session, shop):
    line_user = make_line_user(runtime.sessions)
    make_member(runtime.sessions, line_user=line_user)

    response = client.post("/api/v1/members/M000001/unbind", json={"staff_code": "C001"}, headers=shop.auth)

    assert response.status_code == 200
    assert response.get_json()["bound"] is False
    assert_matches_openapi(response, MEMBER + "/unbind", "post")
    assert session.scalars(select(Member.line_user_id)).one() is None
    audit = session.scalars(select(BindingAudit)).one()
    assert (audit.action, audit.channel, audit.line_user_id) == ("unbind", "counter", line_user.id)
    assert (audit.staff_id, audit.store_id) == (shop.clerk_id, shop.store_id)


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (None, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"staff_code": ""}, 400, "invalid_request"),
        ({"staff_code": "K001"}, 422, "unknown_staff"),  # a clerk of another store
        ({"staff_code": "C002"}, 422, "unknown_staff"),  # no longer working here
        ({"staff_code": "C999"}, 422, "unknown_staff"),
    ],
    ids=["no-body", "no-staff-code", "empty-staff-code", "other-store", "inactive", "unknown"],
)
def test_unbinding_needs_an_active_clerk_of_the_keys_store(client, runtime, session, shop, body, status, error):
    line_user = make_line_user(runtime.sessions)
    make_member(runtime.sessions, line_user=line_user)

    response = client.post("/api/v1/members/M000001/unbind", json=body, headers=shop.auth)

    assert (response.status_code, response.get_json()["error"]) == (status, error)
    assert_matches_openapi(response, MEMBER + "/unbind", "post")
    assert session.scalars(select(Member.line_user_id)).one() == line_user.id
    assert count(session, BindingAudit) == 0


def test_a_body_that_is_not_a_json_object_is_refused(client, runtime, shop):
    make_member(runtime.sessions)

    response = client.post(
        "/api/v1/members/M000001/unbind", data="staff_code=C001", headers=shop.auth, content_type="text/plain"
    )

    assert response.status_code == 400
    assert response.get_json()["message"] == "請以 JSON 物件傳送資料"


def test_unbinding_a_member_with_no_line_account_is_a_conflict(client, runtime, shop):
    make_member(runtime.sessions)

    response = client.post("/api/v1/members/M000001/unbind", json={"staff_code": "C001"}, headers=shop.auth)

    assert response.status_code == 409
    assert response.get_json()["message"] == "此會員尚未綁定 LINE 帳號"
    assert_matches_openapi(response, MEMBER + "/unbind", "post")


def test_a_bound_member_looks_bound_to_the_pos(client, runtime, shop):
    make_member(runtime.sessions, line_user=make_line_user(runtime.sessions))

    response = client.get("/api/v1/members/M000001", headers=shop.auth)

    assert response.get_json()["bound"] is True


def test_the_cli_prints_a_key_once_keeps_only_its_hash_and_revokes_it(client, runtime, session, shop, database_url):
    runner = CliRunner()
    env = {"APP_ENV": "test", "DATABASE_URL": database_url}

    created = runner.invoke(main, ["api-keys", "create", "--store", "TPE01", "--name", "POS 2"], env=env)

    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    stored = session.scalars(select(ApiKey).where(ApiKey.name == "POS 2")).one()
    assert stored.key_hash == hash_key(key) and key not in stored.key_hash
    make_member(runtime.sessions)
    assert client.get("/api/v1/members/M000001", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    revoked = runner.invoke(main, ["api-keys", "revoke", str(stored.id)], env=env)

    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/members/M000001", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert client.get("/api/v1/members/M000001", headers=shop.auth).status_code == 200


def test_the_cli_refuses_a_key_for_an_unknown_store(shop, database_url):
    result = CliRunner().invoke(
        main,
        ["api-keys", "create", "--store", "NOPE", "--name", "x"],
        env={"APP_ENV": "test", "DATABASE_URL": database_url},
    )

    assert result.exit_code != 0
    assert "no store with code 'NOPE'" in result.output
