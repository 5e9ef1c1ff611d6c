"""The lucky draw: quota (one free play a day plus granted plays), the server's decision recorded with its reward,
stock and daily budget never exceeded (falling to no prize or the next prize), and the odds over 100,000 draws."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from textwrap import dedent

import pytest
from sqlalchemy import func, select

from bot.services.engagement.odds import MILLION, Band, candidates, draw_number, prize_for
from bot.services.refusals import Refused
from models import Coupon, GamePlay, GamePrize, PointEntry
from tests.engagement_helpers import grant_at, load, play_at, seed
from tests.factories import make_member

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # Monday 12:00 in Taipei
TABLE = dedent(
    """
    draws:
      - code: T
        name: 測試抽獎
        free_plays_per_day: 1
        daily_budget: {budget}
        when_unavailable: {fallback}
        prizes:
          - {{code: BREAD, name: 麵包, odds: 10%, stock: 1, coupon: FREEBREAD}}
          - {{code: P20, name: 20 點, odds: 20%, stock: 5, points: 20}}
    """
)
# Draw numbers that land in each band: BREAD [0, 100000), P20 [100000, 300000), nothing above.
BREAD, P20, NOTHING = 50_000, 150_000, 900_000


def _table(runtime, budget: int = 100, fallback: str = "nothing") -> None:
    seed(runtime)
    load(runtime, TABLE.format(budget=budget, fallback=fallback), NOON)


def test_one_free_play_a_day_and_the_next_day_another(runtime, member):
    _table(runtime)

    first = play_at(runtime, member.id, "draw", NOON, P20)
    with pytest.raises(Refused) as refused:
        play_at(runtime, member.id, "draw", NOON + timedelta(hours=11, minutes=59))  # 23:59 Taipei
    next_day = play_at(runtime, member.id, "draw", NOON + timedelta(hours=12, minutes=1), NOTHING)  # 00:01

    assert first[:2] == ("P20", 0)
    assert refused.value.reason == "no_plays_left"
    assert next_day[:2] == (None, 0)


def test_granted_plays_come_after_the_free_play_and_a_grant_key_counts_once(runtime, member, session):
    _table(runtime)
    assert grant_at(runtime, member.id, 2, NOON, key="mission:1:done")
    assert not grant_at(runtime, member.id, 2, NOON, key="mission:1:done")

    answers = [play_at(runtime, member.id, "draw", NOON, NOTHING)[1] for _ in range(3)]

    assert answers == [2, 1, 0]
    assert session.scalars(select(GamePlay.source).order_by(GamePlay.play_number)).all() == ["free", "extra", "extra"]
    with pytest.raises(Refused):
        play_at(runtime, member.id, "draw", NOON)


def test_the_prize_is_recorded_with_its_reward_points_or_a_coupon(runtime, member, session):
    _table(runtime)
    other = make_member(runtime.sessions, phone="+886922333444")

    play_at(runtime, member.id, "draw", NOON, BREAD)
    play_at(runtime, other.id, "draw", NOON, P20)

    plays = session.scalars(select(GamePlay).order_by(GamePlay.id)).all()
    assert [p.coupon_id is not None for p in plays] == [True, False] and plays[1].points == 20
    assert session.scalars(select(Coupon.source)).all() == ["draw"]
    assert session.scalars(select(PointEntry.points).where(PointEntry.reason == "幸運抽獎")).all() == [20]


def test_a_prize_out_of_stock_falls_to_no_prize(runtime, session):
    _table(runtime, fallback="nothing")
    a = make_member(runtime.sessions)
    b = make_member(runtime.sessions, phone="+886922333444")

    assert play_at(runtime, a.id, "draw", NOON, BREAD)[0] == "BREAD"
    assert play_at(runtime, b.id, "draw", NOON, BREAD)[0] is None  # the only one is gone

    assert session.scalars(select(GamePrize.awarded_count).where(GamePrize.code == "BREAD")).one() == 1
    assert session.scalar(select(func.count(Coupon.id))) == 1


def test_a_prize_out_of_stock_falls_to_the_next_prize_when_so_configured(runtime):
    _table(runtime, fallback="next")
    a = make_member(runtime.sessions)
    b = make_member(runtime.sessions, phone="+886922333444")

    play_at(runtime, a.id, "draw", NOON, BREAD)

    assert play_at(runtime, b.id, "draw", NOON, BREAD)[0] == "P20"


def test_the_daily_budget_caps_prizes_per_local_day_and_resets_the_next_day(runtime, session):
    _table(runtime, budget=1)
    members = [make_member(runtime.sessions, phone=f"+88691234567{n}") for n in range(3)]

    today = [play_at(runtime, m.id, "draw", NOON, P20)[0] for m in members[:2]]
    tomorrow = play_at(runtime, members[2].id, "draw", NOON + timedelta(days=1), P20)[0]

    assert today == ["P20", None] and tomorrow == "P20"
    rolled = session.scalars(select(GamePlay.rolled_prize_id).order_by(GamePlay.id)).all()
    assert len(set(rolled)) == 1  # all three rolled P20; the second was over budget


def test_without_an_active_draw_the_member_is_told_and_nothing_is_recorded(runtime, member, session):
    with pytest.raises(Refused) as refused:
        play_at(runtime, member.id, "draw", NOON)

    assert refused.value.reason == "game_not_running"
    assert session.scalar(select(func.count(GamePlay.id))) == 0


def test_the_fallback_chain_is_the_rolled_prize_then_the_ones_after_it():
    bands = [Band(1, 10), Band(2, 20), Band(3, 30)]

    assert candidates(bands, 2, "next") == [2, 3]
    assert candidates(bands, 2, "nothing") == [2]
    assert candidates(bands, None, "next") == []
    assert [prize_for(bands, n) for n in (0, 9, 10, 29, 30, 59, 60, MILLION - 1)] == [1, 1, 2, 2, 3, 3, None, None]


def test_100000_simulated_draws_match_the_configured_odds():
    bands = [Band(1, 5_000), Band(2, 50_000), Band(3, 200_000)]  # 0.5%, 5%, 20%; no prize 74.5%
    source = random.Random(20261207)
    draws = 100_000

    seen = Counter(prize_for(bands, draw_number(source)) for _ in range(draws))

    expected = {1: 0.005, 2: 0.05, 3: 0.2, None: 0.745}
    for prize, p in expected.items():
        sigma = (p * (1 - p) / draws) ** 0.5
        assert abs(seen[prize] / draws - p) < 4 * sigma, (prize, seen[prize])


def test_the_server_draws_from_the_operating_system_s_random_source():
    numbers = {draw_number() for _ in range(200)}

    assert all(0 <= n < MILLION for n in numbers) and len(numbers) > 150
