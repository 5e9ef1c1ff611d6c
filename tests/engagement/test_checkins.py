"""The daily check-in on a frozen clock: brand-local days, streak growth, a missed day, a freeze, milestones once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from bot.services.engagement.checkins import freeze_balance, grant_freezes
from models import Checkin, CheckinMilestoneAward, Coupon, Member, PointEntry, StampEntry
from tests.engagement_helpers import checkin_at, seed
from tests.factories import make_member

# 2026-12-07 is a Monday. Taipei is UTC+8: 20:00 UTC is 04:00 the next day in Taipei.
MONDAY_NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 Taipei


def _day(n: int, hour_taipei: int = 12) -> datetime:
    return MONDAY_NOON + timedelta(days=n, hours=hour_taipei - 12)


def test_2359_and_0001_in_taipei_are_two_days_though_the_same_utc_day(runtime, clock, member):
    before_midnight = datetime(2026, 12, 7, 15, 59, tzinfo=UTC)  # Mon 23:59 Taipei
    after_midnight = datetime(2026, 12, 7, 16, 1, tzinfo=UTC)  # Tue 00:01 Taipei, still 7 December in UTC

    first = checkin_at(runtime, clock, member.id, before_midnight)
    second = checkin_at(runtime, clock, member.id, after_midnight)

    assert (first.today, first.streak, first.checked_in_now) == (date(2026, 12, 7), 1, True)
    assert (second.today, second.streak, second.checked_in_now) == (date(2026, 12, 8), 2, True)


def test_a_second_check_in_on_the_same_local_day_changes_nothing(runtime, clock, member, session):
    checkin_at(runtime, clock, member.id, _day(0, 9))
    again = checkin_at(runtime, clock, member.id, _day(0, 23))

    assert (again.checked_in_now, again.streak) == (False, 1)
    assert session.scalar(select(func.count(Checkin.id))) == 1


def test_the_streak_grows_on_consecutive_days_and_starts_again_after_a_missed_day(runtime, clock, member):
    streaks = [checkin_at(runtime, clock, member.id, _day(n)).streak for n in (0, 1, 2)]
    after_a_gap = checkin_at(runtime, clock, member.id, _day(4))  # Thursday missed

    assert streaks == [1, 2, 3]
    assert after_a_gap.streak == 1 and after_a_gap.freezes_used == 0


def test_a_streak_freeze_covers_one_missed_day_and_is_used_up(runtime, clock, member, session):
    with transaction(runtime.sessions) as tx:
        grant_freezes(tx, tx.get_one(Member, member.id), 1, reason="品牌贈送", key="test-grant", at=_day(0))
    checkin_at(runtime, clock, member.id, _day(0))
    checkin_at(runtime, clock, member.id, _day(1))

    kept = checkin_at(runtime, clock, member.id, _day(3))  # Wednesday missed, covered by the freeze
    broken = checkin_at(runtime, clock, member.id, _day(5))  # Friday missed, no freeze left

    assert (kept.streak, kept.freezes_used, kept.freezes_left) == (3, 1, 0)
    assert [(d.day.weekday(), d.checked, d.frozen) for d in kept.week if d.checked or d.frozen] == [
        (0, True, False),
        (1, True, False),
        (2, False, True),
        (3, True, False),
    ]
    assert broken.streak == 1
    assert freeze_balance(session, member.id) == 0


def test_two_missed_days_with_one_freeze_break_the_streak_and_keep_the_freeze(runtime, clock, member, session):
    with transaction(runtime.sessions) as tx:
        grant_freezes(tx, tx.get_one(Member, member.id), 1, reason="品牌贈送", key="test-grant", at=_day(0))
    checkin_at(runtime, clock, member.id, _day(0))

    view = checkin_at(runtime, clock, member.id, _day(3))

    assert (view.streak, view.freezes_used, view.freezes_left) == (1, 0, 1)


def test_milestones_are_given_once_through_the_ledger_coupons_and_stamp_cards(runtime, clock, member, session):
    seed(runtime, _day(0))
    views = [checkin_at(runtime, clock, member.id, _day(n)) for n in range(30)]
    again = checkin_at(runtime, clock, member.id, _day(29, 22))

    rewarded = {view.streak: [m.reward.kind for m in view.rewards] for view in views if view.rewards}
    assert rewarded == {3: ["points"], 7: ["coupon"], 14: ["freeze"], 30: ["stamp"]}
    assert again.rewards == [] and again.checked_in_now is False
    assert session.scalar(select(func.count(CheckinMilestoneAward.id))) == 4
    assert session.scalars(select(PointEntry.points).where(PointEntry.reason == "連續簽到獎勵")).all() == [10]
    assert session.scalar(select(func.count(Coupon.id)).where(Coupon.source == "checkin")) == 1
    assert session.scalar(select(func.sum(StampEntry.stamps)).where(StampEntry.reason == "連續簽到獎勵")) == 1
    assert views[2].next_milestone is not None and views[2].next_milestone.day == 7
    assert views[29].next_milestone is None


def test_a_new_streak_earns_its_milestones_again(runtime, clock, member, session):
    seed(runtime, _day(0))
    for n in (0, 1, 2, 5, 6, 7):  # two streaks of three days
        checkin_at(runtime, clock, member.id, _day(n))

    assert session.scalars(select(PointEntry.points).where(PointEntry.reason == "連續簽到獎勵")).all() == [10, 10]


def test_the_week_strip_runs_monday_to_sunday_with_today_marked(runtime, clock, member):
    checkin_at(runtime, clock, member.id, _day(1))
    view = checkin_at(runtime, clock, member.id, _day(2))

    assert [d.day for d in view.week] == [date(2026, 12, 7) + timedelta(days=n) for n in range(7)]
    assert [d.checked for d in view.week] == [False, True, True, False, False, False, False]
    assert [d.is_today for d in view.week].index(True) == 2


def test_another_member_s_check_ins_do_not_count(runtime, clock, member):
    other = make_member(runtime.sessions, phone="+886922333444")
    checkin_at(runtime, clock, other.id, _day(0))

    assert checkin_at(runtime, clock, member.id, _day(1)).streak == 1


def test_the_database_refuses_to_change_or_delete_a_check_in_or_a_play_s_prize(runtime, clock, member):
    from sqlalchemy import delete, update
    from sqlalchemy.exc import DBAPIError

    from models import GamePlay
    from tests.engagement_helpers import play_at

    seed(runtime, _day(0))
    checkin_at(runtime, clock, member.id, _day(0))
    _prize, _left, play_id = play_at(runtime, member.id, "draw", _day(0), 999_999)

    for statement in (
        update(Checkin).values(streak=99),
        delete(Checkin),
        update(GamePlay).where(GamePlay.id == play_id).values(points=1000),
        delete(GamePlay),
    ):
        with pytest.raises(DBAPIError), transaction(runtime.sessions) as tx:
            tx.execute(statement)
    with transaction(runtime.sessions) as tx:  # the first reveal is the one change a play allows
        tx.execute(update(GamePlay).where(GamePlay.id == play_id).values(revealed_at=_day(0)))
    with pytest.raises(DBAPIError), transaction(runtime.sessions) as tx:
        tx.execute(update(GamePlay).where(GamePlay.id == play_id).values(revealed_at=_day(1)))
