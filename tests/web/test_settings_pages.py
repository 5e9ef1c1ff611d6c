"""The programme-settings pages (stamp cards, tier table, daily tasks): marketers and admins only, CSRF on every
form, a wrong value answered 400 with the zh-TW message and nothing changed, a saved change listed in the page's
version history with who made it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from models import CheckinSettings, Game, GamePrize, StampCardTemplate, TaskSettingsVersion, TierSettingsVersion
from tests.admin_helpers import crew, send, sign_in
from tests.engagement_helpers import seed

AT = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
TIERS = {
    "threshold_regular": "0",
    "multiplier_regular": "1",
    "birthday_regular": "",
    "threshold_silver": "10000",
    "multiplier_silver": "1.2",
    "birthday_silver": "BDAY-SILVER",
    "threshold_gold": "30000",
    "multiplier_gold": "1.5",
    "birthday_gold": "BDAY-GOLD",
}
CARD = {
    "name": "麵包集點卡",
    "rule": "per_amount",
    "amount_per_stamp": "100",
    "stamps_to_fill": "8",
    "daily_limit": "",
    "valid_days": "",
    "reward_coupon_template_id": "",
    "is_active": "yes",
}


@pytest.fixture
def people(runtime: Any) -> dict[str, Any]:
    seed(runtime, AT)
    return crew(runtime.sessions)


@pytest.fixture
def ids(runtime: Any, people: dict[str, Any]) -> dict[str, int]:
    with runtime.sessions() as db:
        return {
            "card": db.scalars(select(StampCardTemplate.id).where(StampCardTemplate.code == "BREAD10")).one(),
            "game": db.scalars(select(Game.id).where(Game.code == "DAILY")).one(),
        }


def fresh(session: Any, model: Any, key: int) -> Any:
    """The row as stored now (not as this session last saw it)."""
    session.expire_all()
    return session.get_one(model, key)


def paths(ids: dict[str, int]) -> list[str]:
    base = "/staff/console/settings"
    return [
        f"{base}/stamp-cards",
        f"{base}/stamp-cards/new",
        f"{base}/stamp-cards/{ids['card']}",
        f"{base}/tiers",
        f"{base}/tasks",
        f"{base}/tasks/games/{ids['game']}",
    ]


@pytest.mark.parametrize(("who", "status"), [("marketer", 200), ("admin", 200), ("clerk", 403), ("manager", 403)])
def test_who_may_open_the_settings_pages(
    client: Any, people: dict[str, Any], ids: dict[str, int], who: str, status: int
) -> None:
    sign_in(client, people[who].code)
    for path in paths(ids):
        assert client.get(path).status_code == status, path
    answer = send(client, "/staff/console/settings/tiers", {**TIERS, "threshold_silver": "5000"})
    assert answer.status_code == (302 if status == 200 else 403)


def test_the_menu_offers_the_settings_to_a_marketer_only(client: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    page = client.get("/staff/console/settings/tiers").get_data(as_text=True)
    assert all(label in page for label in ("集點卡設定", "等級設定", "任務設定"))
    sign_in(client, people["manager"].code)
    assert "等級設定" not in client.get("/staff/admin/audit").get_data(as_text=True)


def test_a_form_without_its_csrf_token_changes_nothing(
    client: Any, session: Any, people: dict[str, Any], ids: dict[str, int]
) -> None:
    sign_in(client, people["marketer"].code)
    posts = [
        ("/staff/console/settings/tiers", {**TIERS, "threshold_silver": "5000"}),
        (f"/staff/console/settings/stamp-cards/{ids['card']}", {**CARD, "stamps_to_fill": "4"}),
        ("/staff/console/settings/tasks/checkin", {"reminders_enabled": "yes", "reminder_time": "19:00"}),
    ]
    for path, form in posts:
        assert client.post(path, data=form).status_code == 400
    assert session.scalar(select(func.count()).select_from(TierSettingsVersion)) <= 1
    assert fresh(session, StampCardTemplate, ids["card"]).stamps_to_fill == 10
    assert fresh(session, CheckinSettings, 1).reminder_time == "20:00"


def test_the_tier_page_refuses_a_threshold_below_the_tier_under_it_and_saves_a_right_one(
    client: Any, session: Any, people: dict[str, Any]
) -> None:
    sign_in(client, people["marketer"].code)
    path = "/staff/console/settings/tiers"
    before = session.scalar(select(func.count()).select_from(TierSettingsVersion))
    bad = send(client, path, {**TIERS, "threshold_gold": "9000"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "「金卡會員」的門檻要高於「銀卡會員」的門檻（10,000 元）" in text
    assert 'name="threshold_gold" value="9000"' in text and 'aria-invalid="true"' in text
    assert session.scalar(select(func.count()).select_from(TierSettingsVersion)) == before
    assert send(client, path, {**TIERS, "multiplier_regular": "9"}).status_code == 400

    assert send(client, path, {**TIERS, "threshold_gold": "25000"}).status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "已儲存會員等級設定" in page
    assert "行銷小組（K001）" in page and "金卡會員 門檻" in page and "10,000 / 25,000" in page


def test_a_stamp_card_is_created_and_edited_on_its_page(client: Any, session: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    bad = send(client, "/staff/console/settings/stamp-cards/new", {**CARD, "code": "bad code!"})
    assert bad.status_code == 400 and "代碼請用英文大寫字母" in bad.get_data(as_text=True)
    assert send(client, "/staff/console/settings/stamp-cards/new", {**CARD, "code": "BREAD10"}).status_code == 400
    created = send(client, "/staff/console/settings/stamp-cards/new", {**CARD, "code": "cake6", "stamps_to_fill": "6"})
    assert created.status_code == 302
    card = session.scalars(select(StampCardTemplate).where(StampCardTemplate.code == "CAKE6")).one()
    path = f"/staff/console/settings/stamp-cards/{card.id}"

    bad = send(client, path, {**CARD, "stamps_to_fill": "0"})
    assert bad.status_code == 400 and "集滿點數請填 1 到 100 點" in bad.get_data(as_text=True)
    assert fresh(session, StampCardTemplate, card.id).stamps_to_fill == 6
    assert send(client, path, {**CARD, "stamps_to_fill": "12"}).status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "已儲存集點卡「麵包集點卡」" in page and "集滿點數" in page and "行銷小組（K001）" in page
    assert fresh(session, StampCardTemplate, card.id).stamps_to_fill == 12


def test_check_in_settings_are_edited_on_the_tasks_page(client: Any, session: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    path = "/staff/console/settings/tasks/checkin"
    form = {
        "checkins_enabled": "yes",
        "reminders_enabled": "yes",
        "reminder_time": "22:30",
        "m_day_0": "3",
        "m_kind_0": "points",
        "m_value_0": "15",
    }
    bad = send(client, path, form)
    assert bad.status_code == 400 and "提醒時間要在 09:00 到 21:59 之間" in bad.get_data(as_text=True)
    assert fresh(session, CheckinSettings, 1).reminder_time == "20:00"

    assert send(client, path, {**form, "reminder_time": "19:00"}).status_code == 302
    page = client.get("/staff/console/settings/tasks").get_data(as_text=True)
    assert "已儲存簽到設定" in page and "簽到設定" in page and "行銷小組（K001）" in page
    assert (fresh(session, CheckinSettings, 1).reminder_time, fresh(session, CheckinSettings, 1).checkins_enabled) == (
        "19:00",
        True,
    )
    assert session.scalar(select(func.count()).select_from(TaskSettingsVersion)) == 2


def test_a_game_is_edited_on_its_page(client: Any, session: Any, people: dict[str, Any], ids: dict[str, int]) -> None:
    sign_in(client, people["marketer"].code)
    path = f"/staff/console/settings/tasks/games/{ids['game']}"
    page = client.get(path).get_data(as_text=True)
    assert 'name="p_code_0"' in page
    form = {
        "name": "每日幸運抽獎",
        "free_plays_per_day": "3",
        "daily_budget": "",
        "when_unavailable": "next",
        "active": "yes",
        "p_code_0": "PTS5",
        "p_name_0": "5 點",
        "p_odds_0": "101",
        "p_stock_0": "",
        "p_kind_0": "points",
        "p_value_0": "5",
    }
    bad = send(client, path, form)
    assert bad.status_code == 400 and "「機率」不可以超過 100%" in bad.get_data(as_text=True)
    assert fresh(session, Game, ids["game"]).free_plays_per_day == 1

    assert send(client, path, {**form, "p_odds_0": "30"}).status_code == 302
    game = fresh(session, Game, ids["game"])
    assert (game.free_plays_per_day, game.daily_budget) == (3, None)
    prizes = session.scalars(select(GamePrize).where(GamePrize.game_id == game.id, GamePrize.is_active)).all()
    assert [(p.code, p.chance_ppm) for p in prizes] == [("PTS5", 300_000)]
    assert "已儲存「每日幸運抽獎」" in client.get(path).get_data(as_text=True)


def test_an_unknown_setting_page_is_a_404(client: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    assert client.get("/staff/console/settings/stamp-cards/999999").status_code == 404
    assert client.get("/staff/console/settings/tasks/games/999999").status_code == 404


def test_an_unchanged_tier_form_saves_no_version(client: Any, session: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["admin"].code)
    before = session.scalar(select(func.count()).select_from(TierSettingsVersion))
    assert send(client, "/staff/console/settings/tiers", TIERS).status_code == 302
    assert "沒有變更" in client.get("/staff/console/settings/tiers").get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(TierSettingsVersion)) == before


@pytest.mark.parametrize(
    "junk",
    [
        {},
        {"name": "x" * 5000, "code": "Ａ１", "rule": "per_visit", "stamps_to_fill": "１０"},
        {"threshold_silver": "9" * 40, "multiplier_gold": "NaN", "birthday_gold": "\x00"},
        {"reminder_time": "25:99", "m_day_0": "1e3", "m_kind_0": "points", "m_value_0": "-5", "m_day_99": "3"},
        {"p_code_0": "A B", "p_name_0": "", "p_odds_0": "1e2%", "p_kind_0": "coupon", "p_value_0": "\u202e"},
        {"free_plays_per_day": "-1", "starts_on": "2026-13-01", "when_unavailable": "next", "p_code_0": "X"},
    ],
)
def test_odd_input_is_refused_in_words_never_a_server_error(
    client: Any, people: dict[str, Any], ids: dict[str, int], junk: dict[str, str]
) -> None:
    sign_in(client, people["marketer"].code)
    base = "/staff/console/settings"
    for path in (
        f"{base}/stamp-cards/new",
        f"{base}/stamp-cards/{ids['card']}",
        f"{base}/tiers",
        f"{base}/tasks/checkin",
        f"{base}/tasks/games/{ids['game']}",
    ):
        answer = send(client, path, junk)
        assert answer.status_code in (302, 400), (path, answer.status_code)
        if answer.status_code == 400:
            assert 'role="alert"' in answer.get_data(as_text=True)
