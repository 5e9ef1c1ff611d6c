"""Programme settings beyond coupons: the tier table, stamp-card templates and the daily-task settings, each
validated (a wrong value names its field and changes nothing), saved as a version with who and when, written to
the audit log, and taking effect on the next purchase, stamp or play."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.services.marketing.settings_forms import SettingsError
from bot.services.marketing.task_settings import save_checkin, save_game, snapshot, task_history
from bot.services.rewards.purchases import PurchaseRequest, record_purchase
from bot.services.rewards.stamp_card_settings import (
    StampCardSettings,
    create_template,
    open_cards,
    update_template,
    versions_of,
)
from bot.services.rewards.tier_settings import save_tiers, tier_history, tiers_from_form
from bot.services.rewards.tiers import current_tiers
from models import (
    CheckinSettings,
    CouponTemplate,
    Game,
    GamePrize,
    Member,
    StaffAudit,
    StampCard,
    StampCardTemplate,
    Store,
    TaskSettingsVersion,
    TierSetting,
    TierSettingsVersion,
)
from tests.engagement_helpers import seed
from tests.factories import make_member, make_staff

TZ = ZoneInfo("Asia/Taipei")
AT = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
TIERS_FORM = {
    "threshold_regular": "0",
    "multiplier_regular": "1.0",
    "birthday_regular": "",
    "threshold_silver": "10,000",
    "multiplier_silver": "1.2",
    "birthday_silver": "BDAY-SILVER",
    "threshold_gold": "30000",
    "multiplier_gold": "1.5",
    "birthday_gold": "BDAY-GOLD",
}


@pytest.fixture
def marketer(runtime: Any) -> Any:
    return make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer", password=None)


def save_tier_form(runtime: Any, marketer: Any, form: dict[str, str], at: datetime = AT) -> TierSettingsVersion | None:
    with transaction(runtime.sessions) as session:
        staff = session.get_one(type(marketer), marketer.id)
        return save_tiers(session, staff, tiers_from_form(session, form), at)


def online_store(runtime: Any) -> Any:
    with transaction(runtime.sessions) as db:
        store = Store(code="WEB", name="網路商店", is_online=True)
        db.add(store)
        db.flush()
        db.expunge(store)
    return store


def buy(runtime: Any, store_id: int, member_number: str, amount: int, key: str, at: datetime = AT) -> dict[str, Any]:
    request = PurchaseRequest(key, amount, channel="online", member_number=member_number)
    with transaction(runtime.sessions) as session:
        return record_purchase(session, store_id, request, at=at, tz=TZ).body


# The tier table.


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"threshold_regular": "100"}, "threshold_regular", "固定是 0 元"),
        ({"threshold_gold": "10000"}, "threshold_gold", "「金卡會員」的門檻要高於「銀卡會員」的門檻（10,000 元）"),
        ({"threshold_silver": "abc"}, "threshold_silver", "「銀卡會員」的門檻請填"),
        ({"multiplier_silver": "0.9"}, "multiplier_silver", "1.0 到 5.0"),
        ({"multiplier_gold": "5.01"}, "multiplier_gold", "1.0 到 5.0"),
        ({"multiplier_gold": "1.234"}, "multiplier_gold", "最多兩位小數"),
        ({"birthday_gold": "NOPE"}, "birthday_gold", "「金卡會員」的生日禮請從啟用中的優惠券選擇"),
        ({"birthday_regular": "OFF"}, "birthday_regular", "生日禮"),
    ],
)
def test_a_wrong_tier_table_names_the_field_and_changes_nothing(
    runtime: Any, session: Any, marketer: Any, change: dict[str, str], field: str, words: str
) -> None:
    seed(runtime)
    with transaction(runtime.sessions) as db:
        db.add(CouponTemplate(code="OFF", name="停用券", kind="amount_off", value=10, is_active=False))
    before = session.scalar(select(func.count()).select_from(TierSettingsVersion))
    with pytest.raises(SettingsError) as caught:
        save_tier_form(runtime, marketer, {**TIERS_FORM, **change})
    assert caught.value.field == field
    assert words in caught.value.message.format(**caught.value.params)
    assert session.scalar(select(func.count()).select_from(TierSettingsVersion)) == before


def test_the_shipped_tier_table_is_version_one_and_saving_it_unchanged_adds_nothing(
    runtime: Any, session: Any, marketer: Any
) -> None:
    seed(runtime)
    with runtime.sessions() as db:
        tiers = current_tiers(db)
    assert [(t.code, t.threshold, t.earn_multiplier, t.birthday_coupon) for t in tiers] == [
        ("regular", 0, 1.0, None),
        ("silver", 10_000, 1.2, "BDAY-SILVER"),
        ("gold", 30_000, 1.5, "BDAY-GOLD"),
    ]
    assert save_tier_form(runtime, marketer, TIERS_FORM) is None


def test_a_saved_tier_table_is_a_version_with_who_and_when_and_an_audit_row(
    runtime: Any, session: Any, marketer: Any
) -> None:
    seed(runtime)
    saved = save_tier_form(runtime, marketer, {**TIERS_FORM, "threshold_silver": "8000", "multiplier_gold": "2"})
    assert saved is not None
    newest = session.scalars(select(TierSettingsVersion).order_by(TierSettingsVersion.version.desc())).first()
    assert (newest.staff_id, newest.at) == (marketer.id, AT)
    with runtime.sessions() as db:
        history = tier_history(db)
        assert history[0].changed == [("silver", "threshold"), ("gold", "earn_multiplier")]
        assert [(t.code, t.threshold, t.earn_multiplier) for t in history[0].tiers][1:] == [
            ("silver", 8000, 1.2),
            ("gold", 30_000, 2.0),
        ]
    audit = session.scalars(select(StaffAudit).where(StaffAudit.action == "tier_settings.update")).one()
    assert audit.actor_staff_id == marketer.id
    assert audit.detail == {"version": newest.version, "silver.threshold": 8000, "gold.earn_multiplier": 2.0}


def test_a_lower_threshold_upgrades_the_next_purchase_that_meets_it(runtime: Any, session: Any, marketer: Any) -> None:
    seed(runtime)
    store = online_store(runtime)
    first, second = make_member(runtime.sessions), make_member(runtime.sessions, phone="+886912000002")
    assert "tier_changed_to" not in buy(runtime, store.id, first.member_number, 8_000, "T-1")
    save_tier_form(runtime, marketer, {**TIERS_FORM, "threshold_silver": "5000"}, at=AT + timedelta(minutes=1))

    answer = buy(runtime, store.id, second.member_number, 8_000, "T-2", at=AT + timedelta(minutes=2))

    assert answer["tier_changed_to"] == "silver"
    assert session.get(Member, first.id).tier == "regular"  # no purchase since: nothing moved them yet
    assert session.get(Member, second.id).tier == "silver"


def test_a_new_multiplier_changes_the_points_a_purchase_earns(runtime: Any, session: Any, marketer: Any) -> None:
    seed(runtime)
    store = online_store(runtime)
    member = make_member(runtime.sessions)
    assert buy(runtime, store.id, member.member_number, 1_000, "T-1")["points_earned"] == 10
    save_tier_form(runtime, marketer, {**TIERS_FORM, "multiplier_regular": "2.5"}, at=AT + timedelta(minutes=1))

    assert (
        buy(runtime, store.id, member.member_number, 1_000, "T-2", at=AT + timedelta(minutes=2))["points_earned"] == 25
    )


def test_the_tier_table_is_read_once_per_transaction(runtime: Any) -> None:
    with transaction(runtime.sessions) as db:
        assert current_tiers(db)[1].threshold == 10_000
        version = TierSettingsVersion(version=99, staff_id=None, at=AT)
        db.add(version)
        db.flush()
        db.add_all(
            TierSetting(version_id=version.id, code=code, threshold=threshold, earn_multiplier_pct=100)
            for code, threshold in (("regular", 0), ("silver", 9000), ("gold", 20_000))
        )
        db.flush()
        assert current_tiers(db)[1].threshold == 10_000  # the unit of work keeps what it read
    with transaction(runtime.sessions) as db:
        assert [t.threshold for t in current_tiers(db)] == [0, 9000, 20_000]


# Stamp-card templates.

CARD_FORM = {
    "name": "咖啡集點卡",
    "rule": "per_amount",
    "amount_per_stamp": "100",
    "stamps_to_fill": "5",
    "daily_limit": "",
    "valid_days": "90",
    "reward_coupon_template_id": "",
    "is_active": "yes",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"rule": "per_day"}, "rule"),
        ({"amount_per_stamp": "0"}, "amount_per_stamp"),
        ({"stamps_to_fill": "101"}, "stamps_to_fill"),
        ({"daily_limit": "-1"}, "daily_limit"),
        ({"valid_days": "3651"}, "valid_days"),
        ({"reward_coupon_template_id": "999"}, "reward_coupon_template_id"),
    ],
)
def test_a_wrong_stamp_card_setting_names_its_field(runtime: Any, change: dict[str, str], field: str) -> None:
    with runtime.sessions() as db, pytest.raises(SettingsError) as caught:
        StampCardSettings.from_form(db, {**CARD_FORM, **change})
    assert caught.value.field == field


def test_a_stamp_card_is_created_and_edited_as_versions_and_an_open_card_fills_at_the_new_number(
    runtime: Any, session: Any, marketer: Any
) -> None:
    seed(runtime)
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as db:
        staff = db.get_one(type(marketer), marketer.id)
        with pytest.raises(SettingsError) as taken:
            create_template(db, staff, "bread10", StampCardSettings.from_form(db, CARD_FORM), AT)
        assert taken.value.params == {"code": "BREAD10"}
        template = create_template(db, staff, "coffee5", StampCardSettings.from_form(db, CARD_FORM), AT)
        template_id = template.id
    store = online_store(runtime)
    buy(runtime, store.id, member.member_number, 300, "T-1")  # 3 of 5 stamps
    with transaction(runtime.sessions) as db:
        template = db.get_one(StampCardTemplate, template_id)
        assert open_cards(db, template) == 1
        later = AT + timedelta(hours=1)
        new = StampCardSettings.from_form(db, {**CARD_FORM, "stamps_to_fill": "3"}, template)
        assert update_template(db, db.get_one(type(marketer), marketer.id), template, new, later)
        assert not update_template(db, db.get_one(type(marketer), marketer.id), template, new, later)
        versions = versions_of(db, template)
        assert [(v.version, v.staff_id, v.settings["stamps_to_fill"]) for v in versions] == [
            (2, marketer.id, 3),
            (1, marketer.id, 5),
        ]
    assert session.scalars(select(StampCardTemplate.code).where(StampCardTemplate.id == template_id)).one() == "COFFEE5"
    card = session.scalars(select(StampCard).where(StampCard.template_id == template_id)).one()
    assert (card.stamps, card.is_open) == (3, True)  # nothing happens to the card until its next stamp
    buy(runtime, store.id, member.member_number, 100, "T-2", at=AT + timedelta(hours=2))
    cards = session.scalars(select(StampCard).where(StampCard.template_id == template_id).order_by(StampCard.id)).all()
    assert [(c.stamps, c.is_open) for c in cards] == [(3, False), (1, True)]
    actions = session.scalars(select(StaffAudit.action).where(StaffAudit.target_type == "stamp_card_template")).all()
    assert sorted(actions) == ["stamp_card_template.create", "stamp_card_template.update"]


def test_a_switched_off_stamp_card_gives_no_stamps(runtime: Any, session: Any, marketer: Any) -> None:
    seed(runtime)
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as db:
        template = db.scalars(select(StampCardTemplate).where(StampCardTemplate.code == "BREAD10")).one()
        off = StampCardSettings.from_form(db, {**CARD_FORM, "is_active": ""}, template)
        update_template(db, db.get_one(type(marketer), marketer.id), template, off, AT)
        template_id = template.id
    store = online_store(runtime)
    buy(runtime, store.id, member.member_number, 1_000, "T-1")
    assert session.scalar(select(func.count()).where(StampCard.template_id == template_id)) == 0


# Daily-task settings.

CHECKIN_FORM = {
    "checkins_enabled": "yes",
    "reminders_enabled": "yes",
    "reminder_time": "19:30",
    "m_day_0": "3",
    "m_kind_0": "points",
    "m_value_0": "10",
    "m_day_1": "7",
    "m_kind_1": "coupon",
    "m_value_1": "FREEBREAD",
    "m_day_2": "",
    "m_kind_2": "points",
    "m_value_2": "",
}


def save_checkin_form(runtime: Any, marketer: Any, form: dict[str, str]) -> bool:
    with transaction(runtime.sessions) as db:
        return save_checkin(db, db.get_one(type(marketer), marketer.id), form, AT)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"reminder_time": "23:00"}, "提醒時間要在 09:00 到 21:59 之間"),
        ({"reminder_time": "8pm"}, "「提醒時間」應該是 24 小時制的時間"),
        ({"m_value_0": "ten"}, "「點數」應該是整數：ten"),
        ({"m_day_1": "3"}, "第 3 天的里程碑重複了"),
        ({"m_value_1": "NOPE"}, "找不到優惠券範本「NOPE」"),
        ({"m_kind_1": "hug"}, "第 2 列里程碑請選擇獎勵種類"),
    ],
)
def test_check_in_settings_are_checked_by_the_yaml_loader_and_a_wrong_one_changes_nothing(
    runtime: Any, session: Any, marketer: Any, change: dict[str, str], words: str
) -> None:
    seed(runtime, AT)
    before = snapshot(session)
    with pytest.raises(SettingsError) as caught:
        save_checkin_form(runtime, marketer, {**CHECKIN_FORM, **change})
    assert words in caught.value.message.format(**caught.value.params)
    assert snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(TaskSettingsVersion)) == 0


def test_check_in_settings_saved_from_the_page_are_a_version(runtime: Any, session: Any, marketer: Any) -> None:
    seed(runtime, AT)
    before = snapshot(session)
    assert save_checkin_form(runtime, marketer, CHECKIN_FORM)
    assert not save_checkin_form(runtime, marketer, CHECKIN_FORM)

    assert session.get_one(CheckinSettings, 1).reminder_time == "19:30"
    now = snapshot(session)
    assert now["checkin"]["milestones"] == [{"day": 3, "points": 10}, {"day": 7, "coupon": "FREEBREAD"}]
    versions = session.scalars(select(TaskSettingsVersion).order_by(TaskSettingsVersion.version)).all()
    assert [(v.version, v.part, v.staff_id) for v in versions] == [(1, "before", None), (2, "checkin", marketer.id)]
    assert versions[0].settings == before and versions[1].settings == now
    assert session.scalars(select(StaffAudit.action).where(StaffAudit.target_type == "task_settings")).all() == [
        "task_settings.update"
    ]


def game_form(session: Any, code: str) -> dict[str, str]:
    """The form the page shows for a game, as it stands."""
    game = session.scalars(select(Game).where(Game.code == code)).one()
    entry = next(g for section in ("draws", "scratch_cards") for g in snapshot(session)[section] if g["code"] == code)
    form = {
        "name": entry["name"],
        "free_plays_per_day": str(entry["free_plays_per_day"]),
        "daily_budget": "" if entry["daily_budget"] is None else str(entry["daily_budget"]),
        "when_unavailable": entry["when_unavailable"],
        "active": "yes" if game.is_active else "",
        "starts_on": entry["starts_on"] or "",
        "ends_on": entry["ends_on"] or "",
    }
    for n, prize in enumerate(entry["prizes"]):
        kind = "points" if "points" in prize else "coupon"
        form |= {
            f"p_code_{n}": prize["code"],
            f"p_name_{n}": prize["name"],
            f"p_odds_{n}": prize["odds"].rstrip("%"),
            f"p_stock_{n}": "" if prize["stock"] is None else str(prize["stock"]),
            f"p_kind_{n}": kind,
            f"p_value_{n}": str(prize[kind]),
        }
    return form


def save_game_form(runtime: Any, marketer: Any, code: str, form: dict[str, str]) -> bool:
    with transaction(runtime.sessions) as db:
        game = db.scalars(select(Game).where(Game.code == code)).one()
        return save_game(db, db.get_one(type(marketer), marketer.id), game, form, AT)


def test_a_game_edited_on_the_page_goes_through_the_loader(runtime: Any, session: Any, marketer: Any) -> None:
    seed(runtime, AT)
    form = game_form(session, "DAILY")
    assert not save_game_form(runtime, marketer, "DAILY", form)  # the page as shown saves nothing

    prize = next(n for n in range(10) if form.get(f"p_code_{n}") == "PTS5")
    edited = {
        **form,
        "free_plays_per_day": "2",
        "daily_budget": "80",
        f"p_odds_{prize}": "25",
        f"p_stock_{prize}": "40",
    }
    assert save_game_form(runtime, marketer, "DAILY", edited)

    game = session.scalars(select(Game).where(Game.code == "DAILY")).one()
    assert (game.free_plays_per_day, game.daily_budget) == (2, 80)
    pts5 = session.scalars(select(GamePrize).where(GamePrize.code == "PTS5")).one()
    assert (pts5.chance_ppm, pts5.stock) == (250_000, 40)
    latest = task_history(session)[0]
    assert (latest.part, latest.staff_id) == ("game:DAILY", marketer.id)
    assert session.scalars(select(Game.is_active).where(Game.code == "LATTE")).one()  # the other games untouched


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"free_plays_per_day": "21"}, "「每日免費次數」應該介於 0 到 20：21"),
        ({"daily_budget": "lots"}, "「每日獎項上限」應該是整數"),
        ({"when_unavailable": "later"}, "「沒有庫存時」應該是 nothing 或 next"),
        ({"p_odds_0": "120"}, "「機率」不可以超過 100%"),
        ({"p_odds_0": "99"}, "獎項的機率加起來超過 100%"),
        ({"p_kind_0": ""}, "第 1 列獎項請選擇點數或優惠券"),
        ({"starts_on": "2026-12-10", "ends_on": "2026-12-01"}, "「結束日期」不可以早於「開始日期」"),
        ({"starts_on": "2026-02-30"}, "「開始日期」應該是日期"),
    ],
)
def test_a_wrong_game_setting_is_refused_as_the_loader_refuses_it(
    runtime: Any, session: Any, marketer: Any, change: dict[str, str], words: str
) -> None:
    seed(runtime, AT)
    before = snapshot(session)
    with pytest.raises(SettingsError) as caught:
        save_game_form(runtime, marketer, "DAILY", {**game_form(session, "DAILY"), **change})
    assert words in caught.value.message.format(**caught.value.params)
    assert snapshot(session) == before


def test_a_load_from_the_command_line_is_a_version_by_the_command(runtime: Any, session: Any, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from bot.cli import main
    from tests.engagement_helpers import EXAMPLE_PATH

    seed(runtime)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    assert CliRunner().invoke(main, ["engagement", "load", str(EXAMPLE_PATH)]).exit_code == 0
    assert CliRunner().invoke(main, ["engagement", "load", str(EXAMPLE_PATH)]).exit_code == 0  # changes nothing

    versions = session.scalars(select(TaskSettingsVersion).order_by(TaskSettingsVersion.version)).all()
    assert [(v.version, v.part, v.staff_id) for v in versions] == [(1, "before", None), (2, "load", None)]
    assert versions[0].settings["draws"] == [] and versions[1].settings == snapshot(session)
    audit = session.scalars(select(StaffAudit).where(StaffAudit.target_type == "task_settings")).one()
    assert (audit.actor_staff_id, audit.detail["part"]) == (None, "load")


def test_a_game_runs_only_between_its_dates(runtime: Any, session: Any, marketer: Any) -> None:
    from bot.services.engagement.games import play
    from bot.services.refusals import Reason, Refused

    seed(runtime, AT)
    member = make_member(runtime.sessions)
    dates = {"starts_on": "2026-11-25", "ends_on": "2026-11-30"}  # AT is 24 November in Taipei
    assert save_game_form(runtime, marketer, "DAILY", {**game_form(session, "DAILY"), **dates})
    with transaction(runtime.sessions) as db, pytest.raises(Refused) as refused:
        play(db, db.get_one(Member, member.id), "draw", AT, TZ)
    assert refused.value.reason == Reason.GAME_NOT_RUNNING
    with transaction(runtime.sessions) as db:
        assert play(db, db.get_one(Member, member.id), "draw", AT + timedelta(days=1), TZ).game.code == "DAILY"
    with transaction(runtime.sessions) as db, pytest.raises(Refused):
        play(db, db.get_one(Member, member.id), "draw", AT + timedelta(days=7), TZ)


def test_check_ins_switched_off_refuse_a_check_in(runtime: Any, session: Any, marketer: Any) -> None:
    from bot.services.engagement.checkins import check_in
    from bot.services.refusals import Reason, Refused
    from models import Checkin

    seed(runtime, AT)
    member = make_member(runtime.sessions)
    assert save_checkin_form(runtime, marketer, {**CHECKIN_FORM, "checkins_enabled": ""})
    with transaction(runtime.sessions) as db, pytest.raises(Refused) as refused:
        check_in(db, db.get_one(Member, member.id), AT, TZ)
    assert refused.value.reason == Reason.GAME_NOT_RUNNING
    assert session.scalar(select(func.count()).select_from(Checkin)) == 0
    assert save_checkin_form(runtime, marketer, CHECKIN_FORM)
    with transaction(runtime.sessions) as db:
        assert check_in(db, db.get_one(Member, member.id), AT, TZ).checked_in_now


def test_two_marketers_saving_the_tier_table_at_once_get_one_version_each(
    runtime: Any, sessions: Any, session: Any, marketer: Any
) -> None:
    from tests.concurrency import race

    seed(runtime)
    save_tier_form(runtime, marketer, {**TIERS_FORM, "threshold_silver": "9000"})  # versions 1 and 2 exist

    def work(db: Any, i: int, all_have_read: Any) -> int:
        staff = db.get_one(type(marketer), marketer.id)
        tiers = tiers_from_form(db, {**TIERS_FORM, "threshold_silver": str(8000 - i)})
        version = save_tiers(db, staff, tiers, AT)
        assert version is not None
        return version.version

    assert sorted(race(sessions, 3, work)) == [3, 4, 5]
    thresholds = session.scalars(select(TierSetting.threshold).where(TierSetting.code == "silver")).all()
    assert sorted(thresholds) == [7998, 7999, 8000, 9000, 10_000]
