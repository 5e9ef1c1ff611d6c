"""Missions move with real facts in the unit of work where they happen: store visits and spend from recorded
purchases (minus refunds), coupon redemptions, check-ins; a completed mission is rewarded once and announced."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.services.engagement.checkins import check_in
from bot.services.engagement.missions import MissionCompleted
from bot.services.refusals import Refused
from bot.services.rewards.coupons import redeem_coupon
from bot.services.rewards.ledger import points_balance
from models import Coupon, CouponTemplate, GamePlayGrant, Member, MissionProgress, PointEntry
from tests.coupon_helpers import give, make_template
from tests.factories import make_member
from tests.helpers import count, in_unit_of_work, texts
from tests.mission_helpers import TPE, buy, load_missions, mission_yaml, online_store, progress, refund
from tests.pos import open_shop

# Wednesday 3 June 2026, 11:00 in Taipei.
WEDNESDAY = datetime(2026, 6, 3, 11, 0, tzinfo=TPE)


@pytest.fixture
def shop(runtime, clock):
    clock.set(WEDNESDAY)
    return open_shop(runtime.sessions)


def at(runtime, clock, moment, work):
    """Run `work(uow)` in a unit of work at `moment` (the program's clock set there); its result."""
    clock.set(moment)
    result, _sent = in_unit_of_work(runtime, work)
    return result


def test_a_purchase_at_a_store_completes_a_visit_mission_rewards_it_once_and_tells_the_member(
    runtime, clock, shop, session, platform
):
    from tests.binding_helpers import friend

    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    load_missions(runtime, mission_yaml("VISIT", "visit_store", 2, reward="points: 30"))

    at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, shop.store_id, member.id, 100))
    at(runtime, clock, WEDNESDAY + timedelta(days=1), lambda uow: buy(uow, shop.store_id, member.id, 100))
    at(runtime, clock, WEDNESDAY + timedelta(days=2), lambda uow: buy(uow, shop.store_id, member.id, 100))

    assert [value for _start, value, _done in progress(session, member.id, "VISIT")] == [3]
    assert progress(session, member.id, "VISIT")[0][2] is True
    rewards = session.scalars(select(PointEntry).where(PointEntry.channel == "line_task")).all()
    assert [(entry.points, entry.reason) for entry in rewards] == [(30, "任務完成：任務 VISIT")]
    assert points_balance(session, member.id) == 30 + 3  # the reward, and a point per NT$100
    pushed = [text for text in texts(platform.bot_messages(user)) if text.startswith("任務完成")]
    assert pushed == ["任務完成！「任務 VISIT」\n已獲得 30 點，已存入您的點數。"]


def test_two_purchases_at_stores_on_one_taipei_day_are_one_visit(runtime, clock, shop, session):
    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("VISIT", "visit_store", 3))

    at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, shop.store_id, member.id, 100))
    at(runtime, clock, WEDNESDAY + timedelta(hours=5), lambda uow: buy(uow, shop.other_store_id, member.id, 50))
    # 23:59 and 00:01 Taipei are two days, though both are 15:59 and 16:01 UTC of one day.
    late = datetime(2026, 6, 3, 23, 59, tzinfo=TPE)
    at(runtime, clock, late, lambda uow: buy(uow, shop.store_id, member.id, 50))
    at(runtime, clock, late + timedelta(minutes=2), lambda uow: buy(uow, shop.store_id, member.id, 50))

    assert [value for _start, value, _done in progress(session, member.id, "VISIT")] == [2]


def test_an_online_purchase_is_no_visit_but_counts_as_spend(runtime, clock, shop, session):
    web = online_store(runtime)
    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("VISIT", "visit_store"), mission_yaml("SPEND", "spend", 1000))

    at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, web, member.id, 700, online=True))

    assert [value for _start, value, _done in progress(session, member.id, "SPEND")] == [700]
    assert progress(session, member.id, "VISIT") == []


def test_spend_adds_up_purchases_and_a_refund_takes_its_amount_back_until_the_mission_is_done(
    runtime, clock, shop, session
):
    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("SPEND", "spend", 1000, reward="points: 50"))
    first = at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, shop.store_id, member.id, 600))
    at(
        runtime,
        clock,
        WEDNESDAY + timedelta(hours=1),
        lambda uow: refund(uow, shop.store_id, first["transaction_id"], 200),
    )

    assert [value for _start, value, done in progress(session, member.id, "SPEND")] == [400]

    at(runtime, clock, WEDNESDAY + timedelta(hours=2), lambda uow: buy(uow, shop.store_id, member.id, 500))
    at(runtime, clock, WEDNESDAY + timedelta(hours=3), lambda uow: buy(uow, shop.store_id, member.id, 300))

    ((_start, value, done),) = progress(session, member.id, "SPEND")
    assert (value, done) == (1200, True)
    # A refund after the completion lowers the spend but keeps the reward, which was given once.
    at(
        runtime,
        clock,
        WEDNESDAY + timedelta(hours=4),
        lambda uow: refund(uow, shop.store_id, first["transaction_id"], 400),
    )
    ((_start, value, done),) = progress(session, member.id, "SPEND")
    assert (value, done) == (800, True)
    rewards = session.scalars(select(PointEntry.points).where(PointEntry.channel == "line_task")).all()
    assert rewards == [50]


def test_a_weekly_mission_starts_again_on_monday_in_taipei_each_week_rewarded_once(runtime, clock, shop, session):
    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("WEEKLY", "visit_store", 1, repeat="weekly", reward="points: 10"))
    sunday_night = datetime(2026, 6, 7, 23, 58, tzinfo=TPE)  # Sunday 15:58 UTC
    monday_morning = datetime(2026, 6, 8, 0, 1, tzinfo=TPE)  # Sunday 16:01 UTC: the same UTC day, another week

    at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, shop.store_id, member.id, 100))
    at(runtime, clock, sunday_night, lambda uow: buy(uow, shop.store_id, member.id, 100))
    at(runtime, clock, monday_morning, lambda uow: buy(uow, shop.store_id, member.id, 100))

    weeks = progress(session, member.id, "WEEKLY")
    assert [(start.isoformat(), value, done) for start, value, done in weeks] == [
        ("2026-06-01", 2, True),
        ("2026-06-08", 1, True),
    ]
    rewards = session.scalars(select(PointEntry.idempotency_key).where(PointEntry.channel == "line_task")).all()
    assert len(rewards) == 2 and {key.rsplit(":", 1)[1] for key in rewards} == {"2026-06-01", "2026-06-08"}


def test_a_mission_counts_only_between_its_start_and_end_days(runtime, clock, shop, session):
    member = make_member(runtime.sessions)
    june = mission_yaml(
        "JUNE", "visit_store", 5, starts_on=WEDNESDAY.date(), ends_on=WEDNESDAY.date() + timedelta(days=1)
    )
    load_missions(runtime, june)

    at(runtime, clock, WEDNESDAY - timedelta(days=1), lambda uow: buy(uow, shop.store_id, member.id, 100))
    at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, shop.store_id, member.id, 100))
    at(runtime, clock, WEDNESDAY + timedelta(days=2), lambda uow: buy(uow, shop.store_id, member.id, 100))

    assert [value for _start, value, _done in progress(session, member.id, "JUNE")] == [1]


def test_redeeming_a_coupon_counts_and_a_mission_naming_a_template_counts_only_its_coupons(
    runtime, clock, shop, session
):
    member = make_member(runtime.sessions)
    fifty = make_template(runtime.sessions, "NT50OFF")
    bread = make_template(runtime.sessions, "FREEBREAD", name="招牌麵包兌換券", kind="free_item", item="麵包", value=0)
    reward = make_template(runtime.sessions, "THANKS", name="感謝券")
    load_missions(
        runtime,
        mission_yaml("ANY", "redeem_coupon", 2, reward="coupon: THANKS"),
        mission_yaml("BREAD", "redeem_coupon", 1, extra="    coupon: FREEBREAD\n"),
    )
    first, _ = give(runtime.sessions, member, fifty, "k1", at=WEDNESDAY - timedelta(days=1))
    second, _ = give(runtime.sessions, member, bread, "k2", at=WEDNESDAY - timedelta(days=1))

    def redeem(code):
        return lambda uow: redeem_coupon(
            uow.session,
            code,
            store_id=shop.store_id,
            staff_id=None,
            channel="pos_api",
            at=uow.now,
            member_id=member.id,
            tz=uow.settings.tz,
        )

    at(runtime, clock, WEDNESDAY, redeem(first.code))
    assert [v for _s, v, _d in progress(session, member.id, "ANY")] == [1]
    assert progress(session, member.id, "BREAD") == []

    at(runtime, clock, WEDNESDAY + timedelta(hours=1), redeem(second.code))

    assert [(v, d) for _s, v, d in progress(session, member.id, "ANY")] == [(2, True)]
    assert [(v, d) for _s, v, d in progress(session, member.id, "BREAD")] == [(1, True)]
    thanks = session.scalars(select(Coupon).where(Coupon.template_id == reward.id)).one()
    assert (thanks.member_id, thanks.source) == (member.id, "task")
    assert session.get_one(CouponTemplate, reward.id).issued_count == 1


def test_check_ins_count_days_on_a_check_in_mission(runtime, clock, shop, session):
    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("CHECKIN", "checkin", 2, reward="points: 15"))

    def checkin(uow):
        return check_in(uow.session, uow.session.get_one(Member, member.id), uow.now, uow.settings.tz)

    at(runtime, clock, WEDNESDAY, checkin)
    at(runtime, clock, WEDNESDAY + timedelta(hours=2), checkin)  # the same day: no second check-in
    at(runtime, clock, WEDNESDAY + timedelta(days=1), checkin)

    assert [(v, d) for _s, v, d in progress(session, member.id, "CHECKIN")] == [(2, True)]


def test_a_completion_is_recorded_as_a_fact_in_the_unit_of_work_that_completed_it(runtime, clock, shop):
    from bot.services import facts

    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("VISIT", "visit_store"))

    def work(uow):
        buy(uow, shop.store_id, member.id, 100)
        return [fact for fact in facts.recorded(uow.session) if isinstance(fact, MissionCompleted)]

    recorded = at(runtime, clock, WEDNESDAY, work)

    assert [fact.member_id for fact in recorded] == [member.id]


def test_an_erased_member_makes_no_progress(runtime, clock, shop, session):
    from bot.db import transaction

    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("SPEND", "spend", 100))
    web = online_store(runtime)
    with transaction(runtime.sessions) as tx:
        tx.get_one(Member, member.id).erased_at = WEDNESDAY

    with pytest.raises(Refused):  # an erased member cannot buy: the purchase is refused
        at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, web, member.id, 700, online=True))

    assert count(session, MissionProgress) == 0


def test_draw_plays_are_granted_once_for_a_completed_mission(runtime, clock, shop, session):
    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("SPEND", "spend", 500, reward="draw_plays: 2"))

    at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, shop.store_id, member.id, 600))
    at(runtime, clock, WEDNESDAY + timedelta(hours=1), lambda uow: buy(uow, shop.store_id, member.id, 600))

    grants = session.execute(select(GamePlayGrant.member_id, GamePlayGrant.plays, GamePlayGrant.game_kind)).all()
    assert [tuple(grant) for grant in grants] == [(member.id, 2, "draw")]


def test_a_purchase_through_the_pos_api_completes_a_mission(runtime, clock, shop, session, client):
    from tests.pos import member_code

    member = make_member(runtime.sessions)
    load_missions(runtime, mission_yaml("VISIT", "visit_store", 1, reward="points: 30"))
    clock.set(datetime.now(TPE))

    response = client.post(
        "/api/v1/purchases",
        json={"transaction_id": "T-1", "amount": 250, "member_code": member_code(runtime.sessions, member.id)},
        headers=shop.auth,
    )

    assert response.status_code == 201, response.get_json()
    assert [(value, done) for _start, value, done in progress(session, member.id, "VISIT")] == [(1, True)]
    assert session.scalars(select(PointEntry.points).where(PointEntry.channel == "line_task")).all() == [30]


def test_an_undone_redemption_no_longer_counts(runtime, clock, shop, session):
    from bot.services.rewards.coupons import undo_redemption

    member = make_member(runtime.sessions)
    fifty = make_template(runtime.sessions, "NT50OFF")
    load_missions(runtime, mission_yaml("TWO", "redeem_coupon", 2))
    coupon, _ = give(runtime.sessions, member, fifty, "k1", at=WEDNESDAY - timedelta(days=1))

    def redeem(uow):
        return redeem_coupon(
            uow.session,
            coupon.code,
            store_id=shop.store_id,
            staff_id=shop.clerk_id,
            channel="pos_api",
            at=uow.now,
            member_id=member.id,
            tz=uow.settings.tz,
        )

    at(runtime, clock, WEDNESDAY, redeem)
    undo = lambda uow: undo_redemption(  # noqa: E731
        uow.session, coupon.code, staff_id=shop.clerk_id, store_id=shop.store_id, at=uow.now, tz=uow.settings.tz
    )
    at(runtime, clock, WEDNESDAY + timedelta(minutes=5), undo)

    assert [(v, d) for _s, v, d in progress(session, member.id, "TWO")] == [(0, False)]


def test_a_reward_coupon_that_ran_out_still_completes_the_mission_and_says_so(runtime, clock, shop, session, platform):
    from tests.binding_helpers import friend

    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    make_template(runtime.sessions, "GONE", name="已發完的券", total_limit=0)
    load_missions(runtime, mission_yaml("VISIT", "visit_store", 1, reward="coupon: GONE"))

    answer = at(runtime, clock, WEDNESDAY, lambda uow: buy(uow, shop.store_id, member.id, 100))

    assert answer["points_earned"] == 1  # the purchase stands
    assert [(v, d) for _s, v, d in progress(session, member.id, "VISIT")] == [(1, True)]
    assert count(session, Coupon) == 0
    pushed = [text for text in texts(platform.bot_messages(user)) if text.startswith("任務完成")]
    assert pushed == ["任務完成！「任務 VISIT」\n這次的獎勵已經發送完畢，感謝您的參與！"]
