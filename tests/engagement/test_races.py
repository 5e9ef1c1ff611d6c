"""Concurrent check-ins and draws, on SQLite and PostgreSQL: one check-in and one milestone reward however many taps
arrive at once, one play from one play left, and a prize never given beyond its stock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory
from bot.refusal_texts import text_for
from bot.services.engagement.checkins import check_in
from bot.services.engagement.games import play
from bot.services.refusals import Reason, Refused
from models import Checkin, CheckinMilestoneAward, Coupon, GamePlay, GamePrize, Member, PointEntry
from tests.concurrency import race
from tests.engagement_helpers import Fixed, checkin_at, load, seed
from tests.factories import make_member

# They run on SQLite too (writers take turns there); PostgreSQL is where the row locks and unique keys are tested.
pytestmark = pytest.mark.postgres_only

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # Monday 12:00 in Taipei


@pytest.fixture
def pool(runtime) -> Iterator[sessionmaker[Session]]:
    """Thirty connections for a hundred racers: the rest wait for one, as a busy server's workers would (on SQLite,
    BEGIN IMMEDIATE makes the writers take turns)."""
    engine = make_engine(runtime.settings.database_url, pool_size=30, max_overflow=0)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_hundred_check_ins_of_one_member_on_one_day_give_one_check_in_and_one_milestone(
    runtime, clock, pool, session
):
    seed(runtime, NOON)
    member = make_member(runtime.sessions)
    for n in (-2, -1):  # two days done: today is day 3, the 10-point milestone
        checkin_at(runtime, clock, member.id, NOON + timedelta(days=n))
    tz = runtime.settings.tz

    def tap(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        view = check_in(tx, tx.get_one(Member, member.id), NOON + timedelta(seconds=i), tz)
        return "new" if view.checked_in_now else "again"

    results = race(pool, 100, tap)

    assert sorted(results) == ["again"] * 99 + ["new"], [r for r in results if r not in ("new", "again")]
    assert session.scalar(select(func.count(Checkin.id))) == 3
    assert session.scalar(select(func.count(CheckinMilestoneAward.id))) == 1
    assert session.scalars(select(PointEntry.points).where(PointEntry.reason == "連續簽到獎勵")).all() == [10]


TABLE = """
draws:
  - code: T
    name: 測試抽獎
    free_plays_per_day: 1
    prizes:
      - {code: BREAD, name: 麵包, odds: 50%, stock: 1, coupon: FREEBREAD}
"""


def test_fifty_draws_of_one_member_with_one_play_left_give_one_play(runtime, pool, session):
    seed(runtime)
    load(runtime, TABLE, NOON)
    member = make_member(runtime.sessions)
    tz = runtime.settings.tz

    def tap(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        play(tx, tx.get_one(Member, member.id), "draw", NOON, tz, Fixed(900_000))
        return "played"

    results = race(pool, 50, tap)

    no_plays = text_for(Refused(Reason.NO_PLAYS_LEFT))
    assert sorted(results) == sorted(["played"] + [no_plays] * 49), results
    assert session.scalar(select(func.count(GamePlay.id))) == 1


def test_a_prize_with_stock_one_drawn_by_twenty_members_at_once_is_given_once(runtime, pool, session):
    seed(runtime)
    load(runtime, TABLE, NOON)
    members = [make_member(runtime.sessions, phone=f"+8869123456{n:02d}") for n in range(20)]
    tz = runtime.settings.tz

    def tap(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        result = play(tx, tx.get_one(Member, members[i].id), "draw", NOON, tz, Fixed(0))
        return result.prize.code if result.prize else "none"

    results = race(pool, 20, tap)

    assert sorted(results) == sorted(["BREAD"] + ["none"] * 19), results
    assert session.scalars(select(GamePrize.awarded_count)).one() == 1
    assert session.scalar(select(func.count(Coupon.id))) == 1
    assert session.scalar(select(func.count(GamePlay.id))) == 20
