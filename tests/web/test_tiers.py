"""Tiers follow the rolling 12-month spend: up at once after the purchase that crosses a line, down by the monthly
review only, one step a month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.rewards.purchases import PurchaseRequest, record_purchase
from bot.services.rewards.refunds import RefundRequest, record_refund
from bot.services.rewards.tiers import evaluate_tier, monthly_review, rolling_spend
from models import Member, Store, TierChange

TZ = ZoneInfo("Asia/Taipei")
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def store_id(runtime) -> int:
    with transaction(runtime.sessions) as session:
        store = Store(code="WEB", name="網路商店", is_online=True)
        session.add(store)
        session.flush()
        return store.id


def bought(runtime, store_id: int, member: Member, amount: int, at: datetime, transaction_id: str) -> dict:
    request = PurchaseRequest(transaction_id, amount, channel="online", member_number=member.member_number)
    with transaction(runtime.sessions) as session:
        return record_purchase(session, store_id, request, at=at, tz=TZ).body


def tier_of(runtime, member: Member) -> str:
    with runtime.sessions() as session:
        found = session.get(Member, member.id)
        assert found is not None
        return found.tier


def set_tier(runtime, member: Member, tier: str) -> None:
    with transaction(runtime.sessions) as session:
        found = session.get(Member, member.id)
        assert found is not None
        found.tier = tier


def review(runtime, at: datetime) -> list[tuple[str, str]]:
    with transaction(runtime.sessions) as session:
        return [(change.from_tier, change.to_tier) for change in monthly_review(session, at, TZ)]


def test_the_rolling_spend_counts_the_last_365_days_net_of_refunds(runtime, store_id, member):
    bought(runtime, store_id, member, 4_000, NOW - timedelta(days=366), "T-old")
    bought(runtime, store_id, member, 5_000, NOW - timedelta(days=100), "T-1")
    bought(runtime, store_id, member, 3_000, NOW - timedelta(days=1), "T-2")
    with transaction(runtime.sessions) as session:
        record_refund(session, store_id, RefundRequest("T-2", "R-1", 1_000), at=NOW, tz=TZ)

    with runtime.sessions() as session:
        assert rolling_spend(session, member.id, NOW) == 7_000
        assert rolling_spend(session, member.id, NOW - timedelta(days=200)) == 4_000


def test_a_purchase_that_crosses_two_thresholds_goes_straight_to_gold(runtime, store_id, member, session):
    answer = bought(runtime, store_id, member, 30_000, NOW, "T-1")

    assert (answer["tier_changed_to"], answer["points_earned"]) == ("gold", 300)
    change = session.scalars(select(TierChange)).one()
    assert (change.from_tier, change.to_tier, change.rolling_spend, change.reason) == (
        "regular",
        "gold",
        30_000,
        "purchase",
    )


def test_spend_falling_below_the_line_does_not_downgrade_between_reviews(runtime, store_id, member):
    bought(runtime, store_id, member, 12_000, NOW - timedelta(days=400), "T-1")
    set_tier(runtime, member, "silver")

    with transaction(runtime.sessions) as session:
        found = session.get(Member, member.id)
        assert found is not None
        assert evaluate_tier(session, found, NOW, allow_downgrade=False) is None

    assert tier_of(runtime, member) == "silver"


def test_a_gold_members_purchase_keeps_gold_whatever_their_spend_and_the_review_still_steps_them_down(
    runtime, store_id, member
):
    set_tier(runtime, member, "gold")
    bought(runtime, store_id, member, 300, NOW, "T-1")

    with transaction(runtime.sessions) as session:
        found = session.get_one(Member, member.id)
        kept = evaluate_tier(session, found, NOW, allow_downgrade=False)
        reviewed = evaluate_tier(session, found, NOW, allow_downgrade=True)

    assert kept is None
    assert reviewed is not None and (reviewed.from_tier, reviewed.to_tier) == ("gold", "silver")
    assert tier_of(runtime, member) == "silver"


def test_the_monthly_review_moves_a_member_down_one_step_a_month_and_only_once_a_month(runtime, member):
    set_tier(runtime, member, "gold")

    first = review(runtime, NOW)
    same_month = review(runtime, NOW + timedelta(days=3))
    next_month = review(runtime, NOW + timedelta(days=10))
    after = review(runtime, NOW + timedelta(days=40))

    assert (first, same_month, next_month, after) == ([("gold", "silver")], [], [("silver", "regular")], [])
    assert tier_of(runtime, member) == "regular"


def test_the_monthly_review_keeps_a_member_whose_spend_still_meets_their_tier(runtime, store_id, member):
    bought(runtime, store_id, member, 11_000, NOW - timedelta(days=300), "T-1")

    assert review(runtime, NOW) == []
    assert tier_of(runtime, member) == "silver"


def test_a_tier_the_programme_does_not_know_is_left_alone(runtime, store_id, member):
    set_tier(runtime, member, "vip")

    answer = bought(runtime, store_id, member, 50_000, NOW, "T-1")

    assert (answer["points_earned"], "tier_changed_to" in answer, review(runtime, NOW)) == (500, False, [])
    assert tier_of(runtime, member) == "vip"


def test_the_monthly_job_runs_the_review(app, runtime, member):
    from bot.tasks import review_tiers_monthly

    set_tier(runtime, member, "silver")

    review_tiers_monthly()

    assert tier_of(runtime, member) == "regular"
