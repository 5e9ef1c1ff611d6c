"""Missions on the daily-task settings page: listed, added and edited (names in zh-TW and English, what counts,
target, reward, dates, on or off), validated by the engagement YAML's loader (a refusal is a 400 naming the field in
zh-TW, nothing saved), each change a version with who and when; marketers and admins only, CSRF; a mission members
have progress on is never deleted, and keeps its kind."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.chat.missions import completed, mission_bubble
from bot.db import transaction
from bot.services.engagement.mission_views import MissionReward, MissionView
from models import CouponTemplate, Member, Mission, MissionProgress, StaffAudit, TaskSettingsVersion
from tests.admin_helpers import crew, send, sign_in
from tests.engagement_helpers import load, seed

AT = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
BASE = "/staff/console/settings/tasks"
NEW = {
    "code": "AUTUMN-SPEND",
    "title": "秋季消費滿 NT$2,000",
    "title_en": "Spend NT$2,000 this autumn",
    "description": "門市與網路商店都算",
    "kind": "spend",
    "target": "2,000",
    "repeat": "none",
    "reward_kind": "points",
    "reward_value": "50",
    "starts_on": "2026-11-01",
    "ends_on": "2026-12-31",
    "active": "yes",
}


@pytest.fixture
def people(runtime: Any) -> dict[str, Any]:
    seed(runtime, AT)
    return crew(runtime.sessions)


def _mission(session: Any, code: str) -> Mission:
    session.expire_all()
    return session.scalars(select(Mission).where(Mission.code == code)).one()


def _versions(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(TaskSettingsVersion)))


def _form_of(client: Any, mission_id: int) -> dict[str, str]:
    """The form as the page shows it (every input's value, the selected options, the ticked boxes)."""
    page = client.get(f"{BASE}/missions/{mission_id}").get_data(as_text=True)
    form = {name: value for name, value in re.findall(r'<input type="[a-z]+"[^>]* name="(\w+)" value="([^"]*)"', page)}
    for name, options in re.findall(r'<select[^>]* name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        form[name] = re.search(r'<option value="(\w+)" selected', options).group(1)  # type: ignore[union-attr]
    form["active"] = "yes" if re.search(r'name="active" value="yes" checked', page) else ""
    form.pop("csrf_token", None)
    return {key: value.replace("&amp;", "&") for key, value in form.items()}


def test_missions_are_listed_and_an_unchanged_form_saves_nothing(
    client: Any, session: Any, people: dict[str, Any]
) -> None:
    sign_in(client, people["marketer"].code)
    page = client.get(BASE).get_data(as_text=True)
    assert 'data-testid="missions"' in page and "本週到門市逛逛" in page and "WEEKLY-VISIT" in page
    visit = _mission(session, "WEEKLY-VISIT")
    stamped = visit.updated_at
    before = _versions(session)

    for mission in session.scalars(select(Mission)).all():
        answer = send(client, f"{BASE}/missions/{mission.id}", _form_of(client, mission.id))
        assert answer.status_code == 302, (mission.code, answer.get_data(as_text=True)[:2000])
    assert "沒有變更" in client.get(f"{BASE}/missions/{visit.id}").get_data(as_text=True)
    assert _versions(session) == before
    assert _mission(session, "WEEKLY-VISIT").updated_at == stamped


def test_a_mission_is_added_on_the_page_and_kept_as_a_version(
    client: Any, session: Any, people: dict[str, Any]
) -> None:
    sign_in(client, people["marketer"].code)
    assert 'name="code"' in client.get(f"{BASE}/missions/new").get_data(as_text=True)
    before = _versions(session)

    answer = send(client, f"{BASE}/missions/new", NEW)

    assert answer.status_code == 302
    added = _mission(session, "AUTUMN-SPEND")
    assert (added.title, added.title_en, added.description) == (
        "秋季消費滿 NT$2,000",
        "Spend NT$2,000 this autumn",
        "門市與網路商店都算",
    )
    assert (added.kind, added.target, added.reward_points, added.repeat, added.is_active) == (
        "spend",
        2000,
        50,
        "none",
        True,
    )
    assert (added.starts_on, added.ends_on) == (date(2026, 11, 1), date(2026, 12, 31))
    # Added last: the chat shows it after the others.
    assert added.sort_order == session.scalar(select(func.max(Mission.sort_order)))
    assert "已新增任務「秋季消費滿 NT$2,000」" in client.get(answer.headers["Location"]).get_data(as_text=True)
    # The first change also keeps how things stood before; the new version names who and which mission.
    assert _versions(session) == max(before, 1) + 1
    latest = session.scalars(select(TaskSettingsVersion).order_by(TaskSettingsVersion.version.desc())).first()
    assert (latest.part, latest.staff_id) == ("mission:AUTUMN-SPEND", people["marketer"].id)
    assert any(m["code"] == "AUTUMN-SPEND" and m["target"] == 2000 for m in latest.settings["missions"])
    audit = session.scalars(select(StaffAudit).where(StaffAudit.action == "task_settings.update")).all()
    assert audit and audit[-1].actor_staff_id == people["marketer"].id
    page = client.get(BASE).get_data(as_text=True)
    assert "任務「秋季消費滿 NT$2,000」" in page and "行銷小組（K001）" in page


def test_a_mission_is_edited_on_its_page(client: Any, session: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["admin"].code)
    visit = _mission(session, "WEEKLY-VISIT")
    others = {m.code: m.updated_at for m in session.scalars(select(Mission)) if m.code != "WEEKLY-VISIT"}
    form = {
        **_form_of(client, visit.id),
        "title": "本週到門市逛兩次",
        "title_en": "Visit a store twice this week",
        "target": "2",
        "reward_kind": "coupon",
        "reward_value": "BOGO-LATTE",
        "ends_on": "2027-06-30",
        "active": "",
    }

    assert send(client, f"{BASE}/missions/{visit.id}", form).status_code == 302

    edited = _mission(session, "WEEKLY-VISIT")
    coupon = session.scalars(select(CouponTemplate.id).where(CouponTemplate.code == "BOGO-LATTE")).one()
    assert (edited.title, edited.title_en, edited.target, edited.ends_on) == (
        "本週到門市逛兩次",
        "Visit a store twice this week",
        2,
        date(2027, 6, 30),
    )
    assert (edited.reward_coupon_template_id, edited.reward_points, edited.is_active) == (coupon, None, False)
    assert {m.code: m.updated_at for m in session.scalars(select(Mission)) if m.code != "WEEKLY-VISIT"} == others
    latest = session.scalars(select(TaskSettingsVersion).order_by(TaskSettingsVersion.version.desc())).first()
    assert (latest.part, latest.staff_id) == ("mission:WEEKLY-VISIT", people["admin"].id)


@pytest.mark.parametrize(
    ("change", "words", "field"),
    [
        ({"ends_on": "2026-10-01"}, "「結束日期」不可以早於「開始日期」", "ends_on"),
        ({"target": "abc"}, "「目標」應該是整數", "target"),
        ({"target": "0"}, "「目標」應該介於 1 到", "target"),
        ({"title": ""}, "「任務名稱（中文）」", "title"),
        ({"title": "好" * 101}, "「任務名稱（中文）」最多 100 個字", "title"),
        ({"title_en": "A\x00B"}, "「任務名稱（英文）」有無法儲存的控制字元", "title_en"),
        ({"starts_on": "2026-13-01"}, "「開始日期」應該是日期", "starts_on"),
        ({"reward_value": ""}, "「點數」", "reward_value"),
        ({"reward_kind": "coupon", "reward_value": "NO-SUCH"}, "「獎勵」找不到優惠券範本「NO-SUCH」", "reward_value"),
        ({"reward_kind": "cash"}, "請選擇「獎勵」", "reward_kind"),
        ({"kind": "dance"}, "請選擇「計算方式」", "kind"),
        (
            {"kind": "poll", "target": "", "question": "喜歡哪種麵包？", "option_0": "可頌"},
            "「問卷選項」要有 2 到 4 個選項",
            None,
        ),
        ({"code": "秋季"}, "「代碼」只能用英文字母", "code"),
        ({"code": "WEEKLY-VISIT"}, "任務代碼「WEEKLY-VISIT」重複了", None),
    ],
)
def test_a_wrong_mission_is_refused_naming_the_field_and_nothing_is_saved(
    client: Any, session: Any, people: dict[str, Any], change: dict[str, str], words: str, field: str | None
) -> None:
    sign_in(client, people["marketer"].code)
    before = _versions(session)
    count = session.scalar(select(func.count()).select_from(Mission))

    answer = send(client, f"{BASE}/missions/new", {**NEW, **change})

    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'role="alert"' in page
    assert words in page, page[:3000]
    if field is not None:
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', page), field
    assert session.scalar(select(func.count()).select_from(Mission)) == count
    assert _versions(session) == before


def test_a_mission_with_progress_keeps_its_kind_and_is_ended_by_switching_it_off(
    client: Any, runtime: Any, session: Any, people: dict[str, Any]
) -> None:
    visit = _mission(session, "WEEKLY-VISIT")
    with transaction(runtime.sessions) as tx:
        member = Member(member_number="C0000001", name="陳小姐")
        tx.add(member)
        tx.flush()
        tx.add(
            MissionProgress(
                mission_id=visit.id, member_id=member.id, period_start=date(2026, 11, 23), value=1, updated_at=AT
            )
        )
    sign_in(client, people["marketer"].code)
    page = client.get(f"{BASE}/missions/{visit.id}").get_data(as_text=True)
    assert "已有 1 位會員有進度" in page
    form = _form_of(client, visit.id)

    refused = send(client, f"{BASE}/missions/{visit.id}", {**form, "kind": "spend", "target": "500"})
    assert refused.status_code == 400
    assert "已有會員的進度，不能改成另一種計算方式" in refused.get_data(as_text=True)
    assert _mission(session, "WEEKLY-VISIT").kind == "visit_store"

    assert send(client, f"{BASE}/missions/{visit.id}", {**form, "active": ""}).status_code == 302
    assert _mission(session, "WEEKLY-VISIT").is_active is False
    assert session.scalar(select(func.count()).select_from(MissionProgress)) == 1
    # There is no way to delete one.
    assert send(client, f"{BASE}/missions/{visit.id}/delete").status_code in (404, 405)
    assert session.scalar(select(func.count()).select_from(Mission).where(Mission.code == "WEEKLY-VISIT")) == 1


@pytest.mark.parametrize(("who", "status"), [("marketer", 200), ("admin", 200), ("clerk", 403), ("manager", 403)])
def test_only_marketers_and_admins_may_open_or_save_missions(
    client: Any, session: Any, people: dict[str, Any], who: str, status: int
) -> None:
    visit = _mission(session, "WEEKLY-VISIT")
    sign_in(client, people[who].code)
    for path in (f"{BASE}/missions/new", f"{BASE}/missions/{visit.id}"):
        assert client.get(path).status_code == status, path
    answer = send(client, f"{BASE}/missions/new", NEW)
    assert answer.status_code == (302 if status == 200 else 403)
    added = session.scalar(select(func.count()).select_from(Mission).where(Mission.code == NEW["code"]))
    assert added == (1 if status == 200 else 0)


def test_a_mission_form_without_its_csrf_token_changes_nothing(
    client: Any, session: Any, people: dict[str, Any]
) -> None:
    visit = _mission(session, "WEEKLY-VISIT")
    sign_in(client, people["marketer"].code)
    before = _versions(session)
    assert client.post(f"{BASE}/missions/new", data=NEW).status_code == 400
    assert client.post(f"{BASE}/missions/{visit.id}", data={**NEW, "title": "改名"}).status_code == 400
    assert session.scalar(select(func.count()).select_from(Mission).where(Mission.code == NEW["code"])) == 0
    assert _mission(session, "WEEKLY-VISIT").title == "本週到門市逛逛"
    assert _versions(session) == before


def test_an_unknown_mission_is_a_404(client: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    assert client.get(f"{BASE}/missions/999999").status_code == 404
    assert client.get(f"{BASE}/missions/99999999999999999999").status_code == 404


def test_the_yaml_takes_an_english_name_too(runtime: Any, session: Any, people: dict[str, Any]) -> None:
    text = """
missions:
  - code: HELLO
    title: 打聲招呼
    title_en: Say hello
    kind: checkin
    target: 1
    starts_on: 2026-11-01
    ends_on: 2026-12-31
    reward:
      points: 5
"""
    load(runtime, text, AT)
    assert _mission(session, "HELLO").title_en == "Say hello"


def test_the_chat_shows_the_english_name_to_english_speakers() -> None:
    view = MissionView(
        mission_id=1,
        title="本週到門市逛逛",
        title_en="Visit a store this week",
        description=None,
        kind="visit_store",
        target=1,
        value=1,
        completed=True,
        weekly=True,
        period_ends_on=date(2026, 11, 29),
        reward=MissionReward(points=20),
    )
    assert "Visit a store this week" in str(mission_bubble("en", view))
    assert "本週到門市逛逛" in str(mission_bubble("zh-TW", view))
    assert "Visit a store this week" in completed("en", view)[0].text  # type: ignore[attr-defined]
    untitled = MissionView(**{**view.__dict__, "title_en": None})
    assert "本週到門市逛逛" in str(mission_bubble("zh-TW", untitled))


@pytest.mark.parametrize(
    "junk",
    [
        {},
        {"code": "Ａ１", "title": "x" * 5000, "target": "１０", "kind": "spend", "reward_kind": "points"},
        {"code": "X", "title": "名", "target": "9" * 40, "kind": "checkin", "reward_kind": "draw_plays"},
        {"code": "Y", "title": "\u202e", "kind": "poll", "reward_kind": "coupon", "option_0": "\x00", "option_1": "b"},
        {
            "code": "Z",
            "title": "名",
            "kind": "visit_store",
            "target": "1",
            "reward_kind": "points",
            "reward_value": "1e3",
            "starts_on": "2026-02-30",
            "ends_on": "9999-99-99",
            "repeat": "daily",
        },
    ],
)
def test_odd_mission_input_is_refused_in_words_never_a_server_error(
    client: Any, session: Any, people: dict[str, Any], junk: dict[str, str]
) -> None:
    visit = _mission(session, "WEEKLY-VISIT")
    sign_in(client, people["marketer"].code)
    for path in (f"{BASE}/missions/new", f"{BASE}/missions/{visit.id}"):
        answer = send(client, path, junk)
        assert answer.status_code == 400, (path, answer.status_code)
        assert 'role="alert"' in answer.get_data(as_text=True)
