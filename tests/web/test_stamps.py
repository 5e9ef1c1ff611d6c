"""The stamp card service: purchases earn stamps per amount or per visit within a daily limit (Asia/Taipei days), cards
expire and fill, a full card gives one reward coupon and is pushed to the member, refunds take stamps back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.db import transaction
from bot.services.refusals import Reason, Refused
from bot.services.rewards.stamps import (
    cards_for,
    expire_stamp_cards,
    reverse_purchase_stamps,
    smart_stamp,
    stamps_for_purchase,
)
from models import Coupon, Member, Purchase, StampCard, StampEntry
from tests.binding_helpers import friend
from tests.coupon_helpers import make_template as make_coupon_template
from tests.factories import make_member
from tests.helpers import count, in_unit_of_work, texts
from tests.pos import open_shop
from tests.stamp_helpers import T0, TPE, make_purchase, make_stamp_template


@pytest.fixture(autouse=True)
def shop(runtime):
    return open_shop(runtime.sessions)


def buy(runtime, member: Member, amount: int, at: datetime = T0, purchase: Purchase | None = None) -> list[dict]:
    """A purchase of `amount` at `at`, stamped in its own unit of work (as the purchase API does); the progress."""
    purchase = purchase or make_purchase(runtime.sessions, member, amount, at)

    def stamp(uow) -> list[dict]:
        row, bought = uow.session.get(Member, member.id), uow.session.get(Purchase, purchase.id)
        assert row is not None and bought is not None
        return stamps_for_purchase(uow.session, row, bought, at)

    return in_unit_of_work(runtime, stamp)[0]


def cards(session, member: Member) -> list[StampCard]:
    return list(session.scalars(select(StampCard).where(StampCard.member_id == member.id).order_by(StampCard.id)))


def entries(session, member: Member) -> list[StampEntry]:
    return list(session.scalars(select(StampEntry).where(StampEntry.member_id == member.id).order_by(StampEntry.id)))


def test_per_amount_gives_a_stamp_per_amount_and_opens_a_card_that_expires_after_its_valid_days(
    runtime, session, member
):
    make_stamp_template(runtime.sessions, valid_days=180)

    (progress,) = buy(runtime, member, 350)

    assert (progress["template_code"], progress["stamps"], progress["stamps_to_fill"]) == ("BREAD10", 3, 10)
    assert (progress["stamps_added"], progress["filled_now"], progress["reward_coupon_code"]) == (3, False, None)
    (card,) = cards(session, member)
    assert (card.stamps, card.is_open) == (3, True)
    # 180 brand-local days counting 1 June: the card works until the end of 27 November, Taipei time.
    assert card.expires_at == datetime(2025, 11, 28, tzinfo=TPE)
    (entry,) = entries(session, member)
    assert (entry.kind, entry.stamps, entry.local_day, entry.channel) == ("earn", 3, date(2025, 6, 1), "pos")


def test_per_visit_gives_one_stamp_whatever_the_amount(runtime, session, member):
    make_stamp_template(runtime.sessions, "VISIT5", name="來店集點", rule="per_visit", amount_per_stamp=None)

    (small,) = buy(runtime, member, 40)
    (large,) = buy(runtime, member, 5000, T0 + timedelta(hours=1))

    assert (small["stamps_added"], large["stamps_added"], large["stamps"]) == (1, 1, 2)


def test_a_purchase_below_the_amount_per_stamp_earns_nothing_and_opens_no_card(runtime, session, member):
    make_stamp_template(runtime.sessions)

    assert buy(runtime, member, 99) == []
    assert cards(session, member) == []


def test_the_daily_limit_counts_brand_local_days_not_utc_days(runtime, session, member):
    make_stamp_template(runtime.sessions, daily_limit=3)
    late = datetime(2025, 6, 1, 23, 59, tzinfo=TPE)
    after_midnight = datetime(2025, 6, 2, 0, 1, tzinfo=TPE)
    assert late.astimezone(UTC).date() == after_midnight.astimezone(UTC).date(), "the same UTC day"

    first = buy(runtime, member, 500, late)[0]
    same_evening = buy(runtime, member, 300, late + timedelta(seconds=30))[0]
    next_day = buy(runtime, member, 500, after_midnight)[0]

    assert (first["stamps_added"], first["daily_limit_reached"]) == (3, True)
    assert (same_evening["stamps_added"], same_evening["stamps"]) == (0, 3)
    assert (next_day["stamps_added"], next_day["stamps"]) == (3, 6)
    assert [e.local_day for e in entries(session, member)] == [date(2025, 6, 1), date(2025, 6, 2)]


def test_an_expired_card_is_closed_with_its_stamps_and_a_new_card_opened(runtime, session, member):
    make_stamp_template(runtime.sessions, valid_days=7)
    buy(runtime, member, 400)

    (progress,) = buy(runtime, member, 200, T0 + timedelta(days=8))

    old, new = cards(session, member)
    assert (old.is_open, old.stamps, old.expired_at) == (False, 0, T0 + timedelta(days=8))
    assert (new.is_open, new.stamps, progress["card_id"]) == (True, 2, new.id)
    assert [(e.kind, e.stamps) for e in entries(session, member)] == [("earn", 4), ("expire", -4), ("earn", 2)]


def test_the_daily_job_closes_cards_past_their_expiry_once(runtime, session, member):
    make_stamp_template(runtime.sessions, valid_days=7)
    buy(runtime, member, 400)
    expires = datetime(2025, 6, 8, tzinfo=TPE)

    with transaction(runtime.sessions) as tx:
        assert expire_stamp_cards(tx, expires - timedelta(seconds=1)) == 0
        assert len(cards_for(tx, member.id, expires - timedelta(seconds=1))) == 1
    with transaction(runtime.sessions) as tx:
        assert cards_for(tx, member.id, expires) == [], "an expired card is no longer shown"
        assert expire_stamp_cards(tx, expires) == 1
    with transaction(runtime.sessions) as tx:
        assert expire_stamp_cards(tx, expires + timedelta(days=1)) == 0

    (card,) = cards(session, member)
    assert (card.is_open, card.stamps, card.expired_at) == (False, 0, expires)
    assert [(e.kind, e.stamps, e.channel) for e in entries(session, member)][-1] == ("expire", -4, "system")


def test_filling_a_card_issues_one_reward_coupon_and_pushes_the_full_card(platform, runtime, session):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    bread = make_coupon_template(
        runtime.sessions, "FREEBREAD", name="招牌麵包兌換券", kind="free_item", item="招牌麵包", value=0, min_spend=0
    )
    make_stamp_template(runtime.sessions, valid_days=180, reward_coupon_template_id=bread.id)
    buy(runtime, member, 600)
    seen = len(platform.bot_messages(user))
    purchase = make_purchase(runtime.sessions, member, 400, T0 + timedelta(hours=1))

    (progress,) = buy(runtime, member, 400, T0 + timedelta(hours=1), purchase)
    (replayed,) = buy(runtime, member, 400, T0 + timedelta(hours=2), purchase)

    (card,) = cards(session, member)
    coupon = session.scalars(select(Coupon)).one()
    assert (card.stamps, card.is_open, card.filled_at, card.reward_coupon_id) == (
        10,
        False,
        T0 + timedelta(hours=1),
        coupon.id,
    )
    assert (coupon.source, coupon.source_key, coupon.member_id) == ("stamp_card", f"stamp-card:{card.id}", member.id)
    assert (progress["filled_now"], progress["reward_coupon_code"], progress["stamps"]) == (True, coupon.code, 10)
    assert (replayed["replayed"], replayed["stamps_added"], replayed["filled_now"]) == (True, 0, False)
    pushed = platform.bot_messages(user)[seen:]
    assert len(pushed) == 2, "one push (text and card), and nothing more for the replay"
    assert texts(pushed)[0] == "恭喜集滿「麵包集點卡」！\n已送您「招牌麵包兌換券」，可在「優惠券」查看。"
    assert "已集滿！" in texts(pushed[1]) and texts(pushed[1]).count("●") == 10


def test_an_unbound_member_fills_a_card_without_a_push_and_a_card_without_reward_gives_none(runtime, session, member):
    make_stamp_template(runtime.sessions, stamps_to_fill=2)

    (progress,) = buy(runtime, member, 200)

    assert (progress["filled_now"], progress["reward_coupon_code"]) == (True, None)
    assert count(session, Coupon) == 0


def test_the_overflow_of_a_filled_card_goes_on_a_new_card(runtime, session, member):
    make_stamp_template(
        runtime.sessions, valid_days=30, reward_coupon_template_id=make_coupon_template(runtime.sessions).id
    )
    buy(runtime, member, 800)

    (progress,) = buy(runtime, member, 500, T0 + timedelta(days=1))

    full, new = cards(session, member)
    assert (full.stamps, full.is_open, new.stamps, new.is_open) == (10, False, 3, True)
    assert new.expires_at == datetime(2025, 7, 2, tzinfo=TPE), "the new card's validity starts with its first stamp"
    assert (progress["card_id"], progress["stamps"], progress["stamps_added"], progress["filled_now"]) == (
        new.id,
        3,
        5,
        True,
    )
    assert [(e.card_id, e.stamps) for e in entries(session, member)] == [(full.id, 8), (full.id, 2), (new.id, 3)]
    assert count(session, Coupon) == 1


def test_a_big_purchase_without_a_limit_can_fill_several_cards(runtime, session, member):
    make_stamp_template(runtime.sessions, reward_coupon_template_id=make_coupon_template(runtime.sessions).id)

    (progress,) = buy(runtime, member, 2500)

    assert (progress["cards_filled"], progress["stamps"]) == (2, 5)
    assert [c.stamps for c in cards(session, member)] == [10, 10, 5]
    assert count(session, Coupon) == 2


def test_the_same_purchase_again_adds_nothing(runtime, session, member):
    make_stamp_template(runtime.sessions)
    make_stamp_template(runtime.sessions, "VISIT5", name="來店集點", rule="per_visit", amount_per_stamp=None)
    purchase = make_purchase(runtime.sessions, member, 300)

    first = buy(runtime, member, 300, purchase=purchase)
    again = buy(runtime, member, 300, purchase=purchase)

    assert [p["stamps_added"] for p in first] == [3, 1]
    assert [(p["stamps_added"], p["stamps"], p["replayed"]) for p in again] == [(0, 3, True), (0, 1, True)]
    assert len(entries(session, member)) == 2


def _refund(runtime, purchase: Purchase, amount: int, at: datetime = T0 + timedelta(hours=3)) -> int:
    with transaction(runtime.sessions) as tx:
        tx.execute(
            update(Purchase).where(Purchase.id == purchase.id).values(refunded_amount=Purchase.refunded_amount + amount)
        )
        row = tx.get(Purchase, purchase.id)
        assert row is not None
        tx.refresh(row)
        return reverse_purchase_stamps(tx, row, amount, at)


def test_a_refund_takes_back_the_stamps_the_refunded_part_earned(runtime, session, member):
    make_stamp_template(runtime.sessions)
    make_stamp_template(runtime.sessions, "VISIT5", name="來店集點", rule="per_visit", amount_per_stamp=None)
    purchase = make_purchase(runtime.sessions, member, 550)
    buy(runtime, member, 550, purchase=purchase)

    first = _refund(runtime, purchase, 120)  # keeps NT$430: 4 stamps
    second = _refund(runtime, purchase, 300)  # keeps NT$130: 1 stamp
    third = _refund(runtime, purchase, 30)  # keeps NT$100: still 1 stamp

    assert (first, second, third) == (1, 3, 0)
    bread, visit = cards(session, member)
    assert (bread.stamps, visit.stamps) == (1, 1), "per-visit stamps are not taken back"
    reversals = [(e.kind, e.stamps, e.purchase_id) for e in entries(session, member) if e.kind == "reverse"]
    assert reversals == [("reverse", -1, purchase.id), ("reverse", -3, purchase.id)]


def test_a_refund_never_takes_a_card_below_zero_nor_takes_back_a_reward(runtime, session, member):
    make_stamp_template(runtime.sessions, reward_coupon_template_id=make_coupon_template(runtime.sessions).id)
    purchase = make_purchase(runtime.sessions, member, 1200)
    buy(runtime, member, 1200, purchase=purchase)

    removed = _refund(runtime, purchase, 1200)

    full, new = cards(session, member)
    assert removed == 2
    assert (full.stamps, full.reward_coupon_id is not None, new.stamps) == (10, True, 0)
    coupon = session.scalars(select(Coupon)).one()
    assert (coupon.voided_at, coupon.redeemed_at) == (None, None)


def test_smart_stamp_at_the_daily_limit_is_refused_and_changes_nothing(runtime, session, member, shop):
    make_stamp_template(
        runtime.sessions, "VISIT5", name="來店集點", rule="per_visit", amount_per_stamp=None, daily_limit=1
    )

    def stamp(key: str, at: datetime) -> list[dict]:
        with transaction(runtime.sessions) as tx:
            row = tx.get(Member, member.id)
            assert row is not None
            return smart_stamp(tx, row, store_id=shop.store_id, staff_id=shop.clerk_id, at=at, idempotency_key=key)

    (first,) = stamp("a", T0)
    with pytest.raises(Refused) as refused:
        stamp("b", T0 + timedelta(hours=1))
    (again,) = stamp("a", T0 + timedelta(hours=2))

    assert refused.value.reason == Reason.DAILY_LIMIT_REACHED
    assert (first["stamps_added"], first["daily_limit_reached"], again["replayed"]) == (1, True, True)
    (entry,) = entries(session, member)
    assert (entry.channel, entry.staff_id, entry.stamps) == ("clerk", shop.clerk_id, 1)
    assert [c.stamps for c in cards(session, member)] == [1]
