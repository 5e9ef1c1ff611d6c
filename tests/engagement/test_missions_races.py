"""Facts that arrive at the same moment: concurrent purchases that together complete a mission complete it once,
with one reward; a poll tapped many times at once keeps one answer. Each racer is its own transaction (SQLite and
PostgreSQL; on PostgreSQL the racers really overlap)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.engagement.polls import answer_poll
from bot.services.rewards.purchases import PurchaseRequest, record_purchase
from models import Coupon, Member, MissionProgress, PointEntry, PollAnswer
from tests.concurrency import race
from tests.coupon_helpers import make_template
from tests.factories import make_member
from tests.helpers import count
from tests.mission_helpers import TPE, load_missions, mission_id, mission_yaml, online_store, progress

AT = datetime(2026, 6, 3, 11, 0, tzinfo=TPE)


@pytest.mark.postgres_only
def test_concurrent_purchases_that_together_reach_the_target_complete_the_mission_once(runtime, sessions, session):
    store = online_store(runtime)
    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("SPEND", "spend", 1000, reward="points: 50"), at=AT)

    def purchase(tx, i, _all_have_read):
        request = PurchaseRequest(str(uuid.uuid4()), 100, channel="online", member_number=member.member_number)
        record_purchase(tx, store, request, at=AT, tz=TPE)
        return "bought"

    with transaction(runtime.sessions) as tx:
        purchase(tx, 0, lambda: None)  # the progress row exists before the race: only its lock orders the racers

    results = race(sessions, 10, purchase)

    assert results == ["bought"] * 10
    ((_start, value, done),) = progress(session, member.id, "SPEND")
    assert (value, done) == (1100, True)
    rewards = session.scalars(select(PointEntry.points).where(PointEntry.channel == "line_task")).all()
    assert rewards == [50]


@pytest.mark.postgres_only
def test_two_purchases_completing_a_coupon_mission_at_once_issue_one_coupon(runtime, sessions, session):
    store = online_store(runtime)
    member = make_member(runtime.sessions)
    make_template(runtime.sessions, "THANKS", name="感謝券")
    load_missions(runtime, mission_yaml("SPEND", "spend", 300, reward="coupon: THANKS"), at=AT)

    def purchase(tx, i, _all_have_read):
        request = PurchaseRequest(f"W-{i}", 300, channel="online", member_number=member.member_number)
        record_purchase(tx, store, request, at=AT, tz=TPE)
        return "bought"

    assert race(sessions, 2, purchase) == ["bought", "bought"]

    assert count(session, Coupon) == 1
    completed = session.scalars(select(MissionProgress.reward_coupon_id)).one()
    assert completed == session.scalars(select(Coupon.id)).one()


@pytest.mark.postgres_only
def test_a_poll_tapped_many_times_at_once_keeps_one_answer_and_one_reward(runtime, sessions, session):
    member = make_member(runtime.sessions)
    poll = "    question: 您最喜歡哪種麵包？\n    options: [可頌, 菠蘿]\n"
    load_missions(runtime, mission_yaml("POLL", "poll", reward="points: 5", extra=poll), at=AT)
    poll_id = mission_id(session, "POLL")

    def tap(tx, i, _all_have_read):
        return answer_poll(tx, tx.get_one(Member, member.id), poll_id, i % 2, AT, TPE).value

    results = race(sessions, 20, tap)

    assert Counter(results) == {"recorded": 1, "already_answered": 19}
    assert count(session, PollAnswer) == 1
    assert session.scalars(select(PointEntry.points).where(PointEntry.channel == "line_task")).all() == [5]


@pytest.mark.postgres_only
def test_store_purchases_at_once_count_each_day_once_and_lose_no_visit(runtime, sessions, session):
    from bot.services.engagement.missions import on_purchase
    from models import Purchase, Store

    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("VISITS", "visit_store", 3), at=AT)
    with transaction(runtime.sessions) as tx:
        store = Store(code="TPE01", name="台北信義店")
        tx.add(store)
        tx.flush()
        store_id = store.id

    def purchase(tx, i, all_have_read, at=AT):
        bought = Purchase(
            store_id=store_id,
            channel="pos",
            transaction_id=f"T-{i}",
            request_hash="0" * 64,
            member_id=member.id,
            amount=100,
            response={},
            created_at=at,
        )
        tx.add(bought)
        tx.flush()
        all_have_read()  # both purchases are written, neither committed, before either counts its visit
        on_purchase(tx, tx.get_one(Member, member.id), bought, TPE)
        return "bought"

    with transaction(runtime.sessions) as tx:
        purchase(tx, 99, lambda: None, at=AT - timedelta(days=1))  # yesterday's visit: the progress row exists

    def on_two_days(tx, i, all_have_read):
        return purchase(tx, i, all_have_read, at=AT + timedelta(days=i // 2))  # racers 0 and 1 today, 2 tomorrow

    assert race(sessions, 3, on_two_days) == ["bought"] * 3

    # Yesterday, today (two purchases, one visit) and tomorrow.
    assert [(value, done) for _start, value, done in progress(session, member.id, "VISITS")] == [(3, True)]
