"""Tags renamed and deleted on the marketer's console: a rename is validated like a new tag (unique among the tags
not deleted, length, no control characters; refused in zh-TW with nothing saved); a deletion archives the tag (its
members lose it with a "remove" event each, the history keeps it, it leaves every list and picker, its name can be
used again); a tag a saved segment names cannot be deleted, and a segment that names a deleted tag all the same says
so and selects nobody, on every page, never a 500. Every change is in the audit log; clerks and managers are refused.
SQLite, and PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.services.marketing.definition import DefinitionError
from bot.services.marketing.segments import audience_for_marketing, members_matching
from models import CouponTemplate, Member, MemberTag, MemberTagEvent, Segment, StaffAudit, Tag
from tests.admin_helpers import crew, send, sign_in
from tests.binding_helpers import field
from tests.factories import make_member

TAGS = "/staff/console/tags"


@pytest.fixture
def people(runtime: Any) -> dict[str, Any]:
    return crew(runtime.sessions)


def _tag(runtime: Any, name: str, kind: str = "manual", segment_id: int | None = None) -> int:
    with transaction(runtime.sessions) as db:
        tag = Tag(name=name, kind=kind, segment_id=segment_id)
        db.add(tag)
        db.flush()
        return tag.id


def _fresh(session: Any, tag_id: int) -> Tag:
    return session.scalars(select(Tag).where(Tag.id == tag_id)).one()


def _audit(session: Any, action: str) -> list[StaffAudit]:
    return list(session.scalars(select(StaffAudit).where(StaffAudit.action == action).order_by(StaffAudit.id)))


def _builder_tags(client: Any) -> list[str]:
    page = client.get("/staff/console/segments/new").get_data(as_text=True)
    raw = page.split('data-options="', 1)[1].split('"', 1)[0].replace("&#34;", '"').replace("&quot;", '"')
    return [name for _, name in json.loads(raw)["tags"]]


def test_a_rename_is_saved_audited_and_shown_in_the_history(client, runtime, session, people):
    member = make_member(runtime.sessions, member_number="M000501", phone="+886911000501")
    sign_in(client, people["marketer"].code)
    assert send(client, TAGS, {"name": "貴賓", "kind": "manual"}).status_code == 302
    vip = session.scalar(select(Tag).where(Tag.name == "貴賓"))
    send(client, f"{TAGS}/member", {"member": member.member_number, "tag_id": vip.id, "action": "add"})

    renamed = send(client, f"{TAGS}/{vip.id}/rename", {"name": "  超級   貴賓 "})

    assert renamed.status_code == 302
    assert _fresh(session, vip.id).name == "超級 貴賓"
    page = client.get(TAGS).get_data(as_text=True)
    assert "已將標籤「貴賓」改名為「超級 貴賓」" in page
    history = client.get(f"{TAGS}?member={member.member_number}").get_data(as_text=True)
    assert "超級 貴賓" in history
    [created] = _audit(session, "tag.create")
    [rename] = _audit(session, "tag.rename")
    assert (created.target_type, created.target_id, created.detail) == ("tag", vip.id, {"name": "貴賓"})
    assert rename.actor_staff_id == people["marketer"].id and rename.target_id == vip.id
    assert rename.detail == {"name": "超級 貴賓", "renamed_from": "貴賓"}

    same = send(client, f"{TAGS}/{vip.id}/rename", {"name": "超級 貴賓"})
    assert same.status_code == 302 and "標籤名稱沒有變更" in client.get(TAGS).get_data(as_text=True)
    assert len(_audit(session, "tag.rename")) == 1

    sign_in(client, people["admin"].code)
    log = client.get("/staff/admin/audit").get_data(as_text=True)
    assert "修改會員標籤名稱" in log and "原名稱：貴賓" in log and "新增會員標籤" in log


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("常客", "已經有同名的標籤，請換一個名稱"),
        (" 常客 ", "已經有同名的標籤，請換一個名稱"),
        ("", "請輸入標籤名稱（最多 50 個字，不能有控制字元）"),
        ("   ", "請輸入標籤名稱（最多 50 個字，不能有控制字元）"),
        ("字" * 51, "請輸入標籤名稱（最多 50 個字，不能有控制字元）"),
        ("鈴\x07聲", "請輸入標籤名稱（最多 50 個字，不能有控制字元）"),
        ("刪\x7f除", "請輸入標籤名稱（最多 50 個字，不能有控制字元）"),
        ("空\x00字元", "請輸入標籤名稱（最多 50 個字，不能有控制字元）"),
    ],
)
def test_a_rename_that_is_not_a_good_name_is_refused_and_saves_nothing(client, runtime, session, people, name, message):
    _tag(runtime, "常客")
    other = _tag(runtime, "新客")
    sign_in(client, people["marketer"].code)

    refused = send(client, f"{TAGS}/{other}/rename", {"name": name})

    assert refused.status_code == 400
    assert message in refused.get_data(as_text=True)
    assert _fresh(session, other).name == "新客"
    assert _audit(session, "tag.rename") == []


def test_a_deleted_tag_is_archived_its_members_lose_it_and_its_history_stays(client, runtime, session, people):
    one = make_member(runtime.sessions, member_number="M000601", phone="+886911000601")
    two = make_member(runtime.sessions, member_number="M000602", phone="+886911000602")
    sign_in(client, people["marketer"].code)
    send(client, TAGS, {"name": "試吃", "kind": "manual"})
    tag = session.scalar(select(Tag).where(Tag.name == "試吃"))
    for member in (one, two):
        send(client, f"{TAGS}/member", {"member": member.member_number, "tag_id": tag.id, "action": "add"})
    send(client, f"{TAGS}/member", {"member": one.member_number, "tag_id": tag.id, "action": "remove"})
    send(client, f"{TAGS}/member", {"member": one.member_number, "tag_id": tag.id, "action": "add"})
    events_before = session.scalar(select(func.count()).select_from(MemberTagEvent))

    deleted = send(client, f"{TAGS}/{tag.id}/delete")

    assert deleted.status_code == 302
    archived = _fresh(session, tag.id)
    assert archived.deleted_at is not None and archived.deleted_by_staff_id == people["marketer"].id
    assert session.scalar(select(func.count()).select_from(MemberTag)) == 0
    events = session.execute(
        select(MemberTagEvent.member_id, MemberTagEvent.action, MemberTagEvent.staff_id).order_by(MemberTagEvent.id)
    ).all()
    assert len(events) == events_before + 2  # nothing deleted, one removal for each member who held it
    assert sorted(tuple(e) for e in events[events_before:]) == [
        (one.id, "remove", people["marketer"].id),
        (two.id, "remove", people["marketer"].id),
    ]
    [audit] = _audit(session, "tag.delete")
    assert (audit.target_type, audit.target_id, audit.detail) == ("tag", tag.id, {"name": "試吃", "members": 2})

    page = client.get(TAGS).get_data(as_text=True)
    assert "已刪除標籤「試吃」，2 位會員的這個標籤已移除（紀錄仍保留）" in page
    assert 'data-testid="tags"' not in page  # the list is empty: the deleted tag is not in it
    assert "試吃" not in _builder_tags(client)
    history = client.get(f"{TAGS}?member={one.member_number}").get_data(as_text=True)
    assert history.count("試吃（已刪除）") == 4  # added, removed, added, removed by the deletion
    assert 'id="tag-add"' not in history  # no manual tag left to pick

    # A deleted tag cannot be changed, used or deleted again: it is not found.
    for path in ("rename", "delete", "segment", "evaluate"):
        assert send(client, f"{TAGS}/{tag.id}/{path}", {"name": "x", "segment_id": "1"}).status_code == 404, path
    again = send(client, f"{TAGS}/member", {"member": one.member_number, "tag_id": tag.id, "action": "add"})
    assert again.status_code == 400 and "找不到這個標籤" in again.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(MemberTag)) == 0

    # Its name can be used again, for a new tag.
    assert send(client, TAGS, {"name": "試吃", "kind": "manual"}).status_code == 302
    assert session.scalar(select(func.count()).select_from(Tag).where(Tag.name == "試吃")) == 2

    sign_in(client, people["admin"].code)
    log = client.get("/staff/admin/audit").get_data(as_text=True)
    assert "刪除會員標籤" in log and "會員數：2" in log


def test_a_rule_tag_can_be_deleted_and_the_nightly_job_leaves_it_alone(client, runtime, session, people):
    from bot.services.marketing.tags import evaluate_rule_tags

    gold = make_member(runtime.sessions, member_number="M000701", phone="+886911000701", tier="gold")
    with transaction(runtime.sessions) as db:
        segment = Segment(name="金卡", definition={"type": "tier", "tiers": ["gold"]}, updated_at=gold.created_at)
        db.add(segment)
        db.flush()
        segment_id = segment.id
    sign_in(client, people["marketer"].code)
    send(client, TAGS, {"name": "金卡標籤", "kind": "rule", "segment_id": segment_id})
    rule = session.scalar(select(Tag).where(Tag.name == "金卡標籤"))
    assert session.scalar(select(func.count()).select_from(MemberTag)) == 1

    assert send(client, f"{TAGS}/{rule.id}/delete").status_code == 302

    assert session.scalar(select(func.count()).select_from(MemberTag)) == 0
    with transaction(runtime.sessions) as db:
        assert evaluate_rule_tags(db, datetime.now(UTC), runtime.settings.tz) == []
    assert session.scalar(select(func.count()).select_from(MemberTag)) == 0
    [audit] = _audit(session, "tag.delete")
    assert audit.detail == {"name": "金卡標籤", "members": 1, "segment": "金卡"}
    # The segment it followed can be deleted now; the deleted tag lets go of it.
    assert send(client, f"/staff/console/segments/{segment_id}/delete").status_code == 302
    assert _fresh(session, rule.id).segment_id is None


def test_a_tag_a_saved_segment_names_is_not_deleted(client, runtime, session, people):
    tag_id = _tag(runtime, "常客")
    other_id = _tag(runtime, "其他")
    member = make_member(runtime.sessions, member_number="M000801", phone="+886911000801")
    with transaction(runtime.sessions) as db:
        for name, definition in (
            ("常客以外", {"not": {"type": "tags", "tag_ids": [other_id, tag_id]}}),
            ("常客", {"all": [{"type": "tags", "tag_ids": [tag_id]}]}),
        ):
            db.add(Segment(name=name, definition=definition, updated_at=member.created_at))
    sign_in(client, people["marketer"].code)
    send(client, f"{TAGS}/member", {"member": member.member_number, "tag_id": tag_id, "action": "add"})

    refused = send(client, f"{TAGS}/{tag_id}/delete")

    assert refused.status_code == 409
    assert "分群「常客」「常客以外」的條件用到標籤「常客」，請先修改這些分群，再刪除標籤" in refused.get_data(
        as_text=True
    )
    assert _fresh(session, tag_id).deleted_at is None
    assert session.scalar(select(func.count()).select_from(MemberTag)) == 1
    assert _audit(session, "tag.delete") == []


def test_a_segment_that_names_a_deleted_tag_says_so_and_selects_nobody(client, runtime, session, people):
    """As when a segment naming the tag is saved at the very moment the tag is deleted."""
    members = [
        make_member(runtime.sessions, member_number=f"M00090{i}", phone=f"+88691100090{i}", tier="gold")
        for i in range(2)
    ]
    tag_id = _tag(runtime, "舊標籤")
    sign_in(client, people["marketer"].code)
    assert send(client, f"{TAGS}/{tag_id}/delete").status_code == 302
    excluding = {"all": [{"type": "tier", "tiers": ["gold"]}, {"not": {"type": "tags", "tag_ids": [tag_id]}}]}
    with transaction(runtime.sessions) as db:
        segment = Segment(name="舊分群", definition=excluding, updated_at=members[0].created_at)
        db.add(segment)
        db.add(CouponTemplate(code="C10", name="折 10 元", kind="amount_off", value=10))
        db.flush()
        segment_id = segment.id
    template_id = session.scalar(select(CouponTemplate.id))
    said = "條件用到的標籤「舊標籤」已經刪除，這個分群目前不選任何會員；請修改條件"

    # Not everybody under the NOT: nobody, and the service says why.
    with transaction(runtime.sessions) as db:
        stored = db.get(Segment, segment_id)
        for select_members in (
            lambda: members_matching(db, excluding, datetime.now(UTC), runtime.settings.tz),
            lambda: audience_for_marketing(db, stored, datetime.now(UTC), runtime.settings.tz),
        ):
            with pytest.raises(DefinitionError) as refused:
                select_members()
            assert refused.value.message.startswith("條件用到的標籤")

    listed = client.get("/staff/console/segments")
    assert listed.status_code == 200 and said in listed.get_data(as_text=True)
    assert client.get(f"/staff/console/segments/{segment_id}").status_code == 200
    saved = send(
        client, f"/staff/console/segments/{segment_id}", {"name": "舊分群", "definition": json.dumps(excluding)}
    )
    assert saved.status_code == 400 and said in saved.get_data(as_text=True)
    new = send(client, "/staff/console/segments/new", {"name": "新分群", "definition": json.dumps(excluding)})
    assert new.status_code == 400 and said in new.get_data(as_text=True)
    csrf = field(client.get("/staff/password").get_data(as_text=True), "csrf_token")
    preview = client.post(
        "/staff/console/segments/preview", json={"definition": excluding}, headers={"X-CSRFToken": csrf}
    )
    assert preview.status_code == 400 and preview.get_json() == {"error": said}
    issue_page = client.get(f"/staff/console/coupons/{template_id}").get_data(as_text=True)
    issued = send(
        client,
        f"/staff/console/coupons/{template_id}/issue",
        {"to": "segment", "segment_id": segment_id, "token": field(issue_page, "token")},
    )
    assert issued.status_code == 400 and said in issued.get_data(as_text=True)
    assert session.scalar(select(CouponTemplate.issued_count)) == 0
    # A rule tag following it is refused in words too.
    rule = send(client, TAGS, {"name": "自動", "kind": "rule", "segment_id": segment_id})
    assert rule.status_code == 400 and "分群「舊分群」的條件已無法使用" in rule.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Member)) == 2


@pytest.mark.parametrize("role", ["clerk", "manager"])
def test_clerks_and_managers_cannot_rename_or_delete_a_tag(client, runtime, session, people, role):
    tag_id = _tag(runtime, "貴賓")
    sign_in(client, people[role].code)

    for path, data in (("rename", {"name": "改了"}), ("delete", {})):
        answer = send(client, f"{TAGS}/{tag_id}/{path}", data)
        assert answer.status_code == 403, path
        assert "您的角色無法使用這個頁面" in answer.get_data(as_text=True)

    tag = _fresh(session, tag_id)
    assert (tag.name, tag.deleted_at) == ("貴賓", None)
    assert session.scalar(select(func.count()).select_from(StaffAudit)) == 0


def test_a_rename_or_delete_without_its_csrf_token_or_by_get_changes_nothing(client, runtime, session, people):
    tag_id = _tag(runtime, "貴賓")
    sign_in(client, people["marketer"].code)

    for path, data in (("rename", {"name": "改了"}), ("delete", {})):
        for token in (None, "forged"):
            answer = client.post(f"{TAGS}/{tag_id}/{path}", data={**data, **({"csrf_token": token} if token else {})})
            assert answer.status_code == 400, path
            assert "頁面已逾時，請重新整理後再送出" in answer.get_data(as_text=True)
        assert client.get(f"{TAGS}/{tag_id}/{path}").status_code == 405

    tag = _fresh(session, tag_id)
    assert (tag.name, tag.deleted_at) == ("貴賓", None)
