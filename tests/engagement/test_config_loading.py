"""`omo engagement load`: the YAML is validated with errors naming their line, stored, and loading it twice changes
nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from textwrap import dedent

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.services.engagement.yaml_nodes import ConfigError
from models import CheckinMilestone, CheckinSettings, Game, GamePrize
from tests.engagement_helpers import EXAMPLE_PATH, example_text, load, seed

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_the_example_file_loads_and_loading_it_again_changes_nothing(runtime, session):
    seed(runtime)

    first = load(runtime, example_text(), AT)
    again = load(runtime, example_text(), AT)

    assert first.total > 0
    assert again.total == 0 and set(again.changed) == {"checkin", "draws", "scratch_cards", "missions"}
    days = session.execute(select(CheckinMilestone.day, CheckinMilestone.reward_kind).order_by(CheckinMilestone.day))
    assert [tuple(row) for row in days] == [(3, "points"), (7, "coupon"), (14, "freeze"), (30, "stamp")]
    assert session.get_one(CheckinSettings, 1).reminder_time == "20:00"
    games = session.execute(select(Game.code, Game.kind, Game.when_unavailable).order_by(Game.code)).all()
    assert [tuple(row) for row in games] == [("DAILY", "draw", "next"), ("LATTE", "scratch", "nothing")]
    bread = session.scalars(select(GamePrize).where(GamePrize.code == "BREAD")).one()
    assert (bread.chance_ppm, bread.stock, bread.reward_kind) == (50_000, 50, "coupon")


def test_a_prize_left_out_of_the_file_is_switched_off_and_a_changed_odds_is_stored(runtime, session):
    seed(runtime)
    load(runtime, example_text(), AT)
    pts20 = "      - code: PTS20\n        name: 20 點\n        odds: 10%\n        stock: 500\n        points: 20\n"
    assert pts20 in example_text()
    edited = example_text().replace(pts20, "").replace("odds: 20%\n        points: 5", "odds: 25%\n        points: 5")

    report = load(runtime, edited, AT)

    assert report.changed["draws"] == 2
    prizes = {p.code: p for p in session.scalars(select(GamePrize))}
    assert not prizes["PTS20"].is_active and prizes["PTS5"].chance_ppm == 250_000


@pytest.mark.parametrize(
    ("yaml_text", "line", "words"),
    [
        ("checkin:\n  milestones:\n    - day: 3\n      points: ten\n", 4, "整數"),
        ("checkin:\n  milestones:\n    - day: 3\n", 3, "一種獎勵"),
        ('checkin:\n  reminder:\n    time: "23:00"\n', 3, "09:00 到 21:59"),
        ("checkin:\n  milestones:\n    - day: 3\n      coupon: NOPE\n", 4, "找不到優惠券範本「NOPE」"),
        (
            "draws:\n  - code: D\n    name: x\n    prizes:\n      - {code: A, name: a, odds: 60%, points: 1}\n"
            "      - {code: B, name: b, odds: 50%, points: 1}\n",
            6,
            "超過 100%",
        ),
        (
            "draws:\n  - code: D\n    name: x\n    prizes:\n      - {code: A, name: a, odds: 0.5, points: 1}\n",
            5,
            "百分比",
        ),
        ("draws:\n  - code: D\n    name: x\n    colour: red\n    prizes: []\n", 4, "沒有「colour」"),
        ("raffles:\n  - code: D\n", 1, "沒有「raffles」"),
        ("checkin:\n  milestones:\n    - day: 3\n      points: 1\n    - day: 3\n      points: 2\n", 5, "重複"),
        ("checkin: [\n", 2, "YAML 格式錯誤"),
    ],
)
def test_a_wrong_file_names_the_line_and_stores_nothing(runtime, session, yaml_text, line, words):
    seed(runtime)

    with pytest.raises(ConfigError) as raised:
        load(runtime, dedent(yaml_text), AT)

    assert raised.value.line == line and words in raised.value.message
    assert session.scalars(select(CheckinMilestone)).all() == []
    assert session.scalars(select(Game)).all() == []


def test_the_command_loads_the_file_and_reports_a_wrong_one_with_its_line(runtime, tmp_path, monkeypatch):
    seed(runtime)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("checkin:\n  milestones:\n    - day: zero\n      points: 1\n", encoding="utf-8")

    loaded = CliRunner().invoke(main, ["engagement", "load", str(EXAMPLE_PATH)])
    again = CliRunner().invoke(main, ["engagement", "load", str(EXAMPLE_PATH)])
    refused = CliRunner().invoke(main, ["engagement", "load", str(wrong)])

    assert loaded.exit_code == 0, loaded.output
    assert "0 rows changed" in again.output
    assert refused.exit_code == 1 and "第 3 行" in refused.output and "nothing was loaded" in refused.output


def test_the_brand_grants_streak_freezes_and_plays_once_per_key_from_the_command_line(runtime, monkeypatch, session):
    from bot.services.engagement.checkins import freeze_balance
    from models import GamePlayGrant
    from tests.factories import make_member

    member = make_member(runtime.sessions)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", runtime.settings.database_url)
    runner = CliRunner()

    freezes = [
        runner.invoke(main, ["engagement", "grant-freeze", "M000001", "--count", "2", "--key", "x"]) for _ in "ab"
    ]
    plays = [
        runner.invoke(main, ["engagement", "grant-plays", "M000001", "--game", "scratch", "--key", "y"]) for _ in "ab"
    ]
    unknown = runner.invoke(main, ["engagement", "grant-freeze", "M999999"])

    assert [r.exit_code for r in (*freezes, *plays)] == [0, 0, 0, 0]
    assert "already granted" in freezes[1].output and "already granted" in plays[1].output
    assert freeze_balance(session, member.id) == 2
    assert session.scalars(select(GamePlayGrant.game_kind)).all() == ["scratch"]
    assert unknown.exit_code == 1 and "no member M999999" in unknown.output
