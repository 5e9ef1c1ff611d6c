"""Store keys have scopes: `scan` (scans, member look-ups, purchases, refunds, stamps), `coupons` and `members`
(bind codes, unbind, erase). A key without the scope an endpoint needs gets 403 `scope_missing` and changes nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from models import ApiKey, BindCode, BindingAudit, ErasureRequest, Member, Purchase, Refund, ScanLog, StampEntry
from tests.factories import make_member
from tests.helpers import count
from tests.pos import assert_matches_openapi, make_key, make_line_user, member_code, open_shop

ALL_BUT = {
    "scan": ("coupons", "members"),
    "members": ("scan", "coupons"),
}
# (scope, method, documented path, served path, body; "<code>" is replaced by the member's code now)
ENDPOINTS = [
    ("scan", "post", "/scan", "/scan", {"code": "<code>", "intent": "transaction", "staff_code": "C001"}),
    ("scan", "get", "/members/{member_number}", "/members/M000001", None),
    (
        "scan",
        "post",
        "/purchases",
        "/purchases",
        {"transaction_id": "T-1", "amount": 500, "member_code": "<code>", "staff_code": "C001"},
    ),
    ("scan", "post", "/refunds", "/refunds", {"transaction_id": "T-1", "refund_id": "R-1", "amount": 100}),
    ("scan", "post", "/stamps", "/stamps", {"member_code": "<code>", "staff_code": "C001"}),
    ("members", "post", "/members/{member_number}/bind-codes", "/members/M000001/bind-codes", {"staff_code": "C001"}),
    ("members", "post", "/members/{member_number}/unbind", "/members/M000001/unbind", {"staff_code": "C001"}),
    ("members", "post", "/members/{member_number}/erase", "/members/M000001/erase", {"staff_code": "C001"}),
]


def _everything(session) -> tuple[int, ...]:
    member = session.scalars(select(Member)).one()
    return (
        count(session, ScanLog),
        count(session, Purchase),
        count(session, Refund),
        count(session, StampEntry),
        count(session, BindCode),
        count(session, BindingAudit),
        count(session, ErasureRequest),
        member.line_user_id is None,
        member.erased_at is None,
    )


@pytest.mark.parametrize(
    ("scope", "method", "path", "served", "body"), ENDPOINTS, ids=[f"{e[1]} {e[3]}" for e in ENDPOINTS]
)
def test_a_key_without_the_endpoints_scope_is_refused_and_changes_nothing(
    client, runtime, session, scope, method, path, served, body
):
    open_shop(runtime.sessions)
    member = make_member(runtime.sessions, line_user=make_line_user(runtime.sessions))
    auth = make_key(runtime.sessions, ALL_BUT[scope])
    if body is not None:
        body = {
            name: member_code(runtime.sessions, member.id) if value == "<code>" else value
            for name, value in body.items()
        }
    before = _everything(session)

    response = getattr(client, method)(f"/api/v1{served}", json=body, headers=auth)

    assert (response.status_code, response.get_json()["error"]) == (403, "scope_missing")
    assert response.get_json()["message"] == f"此 API 金鑰沒有「{scope}」權限，無法執行此操作"
    assert_matches_openapi(response, path, method)
    session.expire_all()
    assert _everything(session) == before


def test_a_key_with_the_members_scope_only_cannot_scan(client, runtime):
    open_shop(runtime.sessions)
    member = make_member(runtime.sessions)
    auth = make_key(runtime.sessions, ("members",))

    scanned = client.post("/api/v1/scan", json={"code": member_code(runtime.sessions, member.id)}, headers=auth)
    code = client.post("/api/v1/members/M000001/bind-codes", json={"staff_code": "C001"}, headers=auth)

    assert scanned.status_code == 403 and code.status_code == 201


def test_the_cli_gives_scan_and_coupons_unless_told_and_members_only_when_asked(runtime, session, database_url):
    open_shop(runtime.sessions)
    env = {"APP_ENV": "test", "DATABASE_URL": database_url}
    runner = CliRunner()

    plain = runner.invoke(main, ["api-keys", "create", "--store", "TPE01", "--name", "till"], env=env)
    admin = runner.invoke(
        main, ["api-keys", "create", "--store", "TPE01", "--name", "desk", "--scope", "members"], env=env
    )
    wrong = runner.invoke(main, ["api-keys", "create", "--store", "TPE01", "--name", "x", "--scope", "all"], env=env)

    assert plain.exit_code == 0 and admin.exit_code == 0, plain.output + admin.output
    assert "scopes: scan coupons" in plain.output and "scopes: members" in admin.output
    scopes = dict(session.execute(select(ApiKey.name, ApiKey.scopes)).all())
    assert (scopes["till"], scopes["desk"]) == ("scan coupons", "members")
    assert wrong.exit_code != 0 and "x" not in scopes
