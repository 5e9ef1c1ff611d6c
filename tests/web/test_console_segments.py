"""The marketer's console: segment pages (who may open them), the live count endpoint, saving, renaming and
deleting a segment."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import transaction
from models import Consent, LineUser, Member, Segment, StaffAudit
from tests.admin_helpers import crew, send, sign_in
from tests.binding_helpers import field
from tests.factories import make_member

GOLD = {"all": [{"type": "tier", "tiers": ["gold"]}]}


@pytest.fixture
def people(runtime: Any) -> dict[str, Any]:
    return crew(runtime.sessions)


def _csrf(client: Any) -> str:
    return field(client.get("/staff/password").get_data(as_text=True), "csrf_token")


def _preview(client: Any, definition: Any, token: str | None = None) -> Any:
    return client.post(
        "/staff/console/segments/preview",
        json={"definition": definition},
        headers={"X-CSRFToken": token if token is not None else _csrf(client)},
    )


@pytest.mark.parametrize(("who", "status"), [("marketer", 200), ("admin", 200), ("clerk", 403), ("manager", 403)])
def test_who_may_open_the_segment_pages(client: Any, people: dict[str, Any], who: str, status: int) -> None:
    sign_in(client, people[who].code)
    assert client.get("/staff/console/segments").status_code == status
    assert client.get("/staff/console/segments/new").status_code == status
    assert _preview(client, GOLD).status_code == status
    home = client.get("/staff/").get_data(as_text=True)
    assert ("/staff/console/segments" in home) == (status == 200)


def test_signed_out_is_sent_to_sign_in(client: Any) -> None:
    assert client.get("/staff/console/segments").status_code == 302


def test_live_count_and_masked_sample(client: Any, runtime: Any, people: dict[str, Any]) -> None:
    gold = make_member(runtime.sessions, name="林怡君", phone="+886912345678", tier="gold", bound_to=None)
    make_member(runtime.sessions, name="王明", phone="+886912000111", tier="regular")
    with transaction(runtime.sessions) as session:
        line_user = LineUser(line_user_id="U" + "a" * 32)
        session.add(line_user)
        session.flush()
        session.get(Member, gold.id).line_user_id = line_user.id  # type: ignore[union-attr]
        session.add(
            Consent(member_id=gold.id, terms_version="1", privacy_version="1", marketing_opt_in=True, channel="line")
        )
    sign_in(client, people["marketer"].code)
    answer = _preview(client, GOLD)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["count"] == 1 and body["reachable"] == 1
    assert body["sample"] == [{"member_number": gold.member_number, "name": "林*君", "tier": "金卡會員"}]
    assert "912345678" not in answer.get_data(as_text=True)


def test_preview_refuses_bad_definitions_and_missing_csrf(client: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    answer = _preview(client, {"all": [{"type": "spend", "days": 30, "min": 5, "max": 1}]})
    assert answer.status_code == 400
    assert "期間內消費金額" in answer.get_json()["error"]
    assert _preview(client, {"all": []}).status_code == 400
    assert client.post("/staff/console/segments/preview", data="not json").status_code == 400
    assert _preview(client, GOLD, token="forged").status_code == 400


def test_save_rename_and_delete(client: Any, session: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    answer = send(client, "/staff/console/segments/new", {"name": "金卡會員", "definition": json.dumps(GOLD)})
    assert answer.status_code == 302
    segment = session.scalars(select(Segment)).one()
    assert segment.definition == GOLD and segment.created_by_staff_id == people["marketer"].id
    listing = client.get("/staff/console/segments").get_data(as_text=True)
    assert "金卡會員" in listing and "已儲存分群" in listing

    # A bad definition or a taken name changes nothing and says why, keeping what was typed.
    bad = send(client, "/staff/console/segments/new", {"name": "新的", "definition": "{broken"})
    assert bad.status_code == 400 and "分群條件格式不正確" in bad.get_data(as_text=True)
    taken = send(client, "/staff/console/segments/new", {"name": "金卡會員", "definition": json.dumps(GOLD)})
    assert taken.status_code == 400 and "已經有同名的分群" in taken.get_data(as_text=True)
    assert session.scalar(select(Segment.name).where(Segment.name == "新的")) is None

    edit = f"/staff/console/segments/{segment.id}"
    page = client.get(edit).get_data(as_text=True)
    assert "金卡會員" in page
    assert send(client, edit, {"name": "金卡 VIP", "definition": json.dumps(GOLD)}).status_code == 302
    assert session.scalars(select(Segment)).one().name == "金卡 VIP"

    assert send(client, f"{edit}/delete").status_code == 302
    assert session.scalars(select(Segment)).all() == []
    actions = session.scalars(select(StaffAudit.action).where(StaffAudit.target_type == "segment")).all()
    assert actions == ["segment.create", "segment.update", "segment.delete"]
    assert client.get(edit).status_code == 404


def test_english_labels(client: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    client.get("/staff/language/en")
    page = client.get("/staff/console/segments/new").get_data(as_text=True)
    options = json.loads(
        re.search(r'data-options="([^"]*)"', page).group(1).replace("&#34;", '"').replace("&quot;", '"')
    )  # type: ignore[union-attr]
    assert dict(options["kinds"])["spend"] == "Spend in the period"


def test_segment_changes_read_well_in_the_audit_log(client: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    send(client, "/staff/console/segments/new", {"name": "金卡會員", "definition": json.dumps(GOLD)})
    other = {"any": [{"type": "tier", "tiers": ["gold", "silver"]}]}
    send(client, "/staff/console/segments/1", {"name": "金銀卡", "definition": json.dumps(other)})
    send(client, "/staff/logout")
    sign_in(client, people["admin"].code)
    page = client.get("/staff/admin/audit").get_data(as_text=True)
    for text in ("新增分群", "修改分群", "原名稱", "金卡會員", "條件已修改"):
        assert text in page
    assert "segment.update" not in page
