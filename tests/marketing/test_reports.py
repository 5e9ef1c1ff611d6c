"""A campaign's report from known data: cohorts, delivery, blocks since the start, coupons, and the purchases of the
window only (refunds netted, full refunds not counted), by store and channel, and the uplift over the holdout with
its confidence interval worked out here from the per-member figures."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.db import transaction
from bot.services.marketing import reports
from bot.services.membership import line_users
from models import Campaign, CampaignRecipient, Coupon, OutboundMessage, Purchase, Store
from tests.campaign_helpers import consenting_members, make_campaign
from tests.coupon_helpers import make_template

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Taipei
Z = 1.959963984540054


def _start(sessions, campaign_id: int, at: datetime = START) -> Campaign:
    with transaction(sessions) as session:
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="started", started_at=at))
        found = session.get(Campaign, campaign_id)
        session.expunge(found)
        return found


def _recipients(sessions, campaign_id: int, members: list[tuple[int, str]], cohort: str, **fields) -> list[int]:
    with transaction(sessions) as session:
        for member_id, _ in members:
            session.add(
                CampaignRecipient(
                    campaign_id=campaign_id, member_id=member_id, cohort=cohort, created_at=START, **fields
                )
            )
    return [member_id for member_id, _ in members]


class Shop:
    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.n = 0
        with transaction(sessions) as session:
            stores = [Store(code="TPE01", name="台北信義店"), Store(code="WEB", name="網路商店", is_online=True)]
            session.add_all(stores)
            session.flush()
            self.tpe, self.web = stores[0].id, stores[1].id

    def buy(self, member_id: int, amount: int, at: datetime, *, refunded: int = 0, online: bool = False) -> None:
        self.n += 1
        with transaction(self.sessions) as session:
            session.add(
                Purchase(
                    store_id=self.web if online else self.tpe,
                    channel="online" if online else "pos",
                    transaction_id=f"T{self.n}",
                    request_hash="0" * 64,
                    member_id=member_id,
                    amount=amount,
                    refunded_amount=refunded,
                    response={},
                    created_at=at,
                )
            )


@pytest.fixture
def known(runtime):
    """A started campaign: 30 members in A, 10 in B, 30 in the holdout, 2 capped, and their purchases."""
    sessions = runtime.sessions
    shop = Shop(sessions)
    people = consenting_members(sessions, 73)
    a, b, hold, capped, outsider = people[:30], people[30:40], people[40:70], people[70:72], people[72]
    campaign_id = make_campaign(sessions, START - timedelta(hours=1), holdout_percent=40)
    template = make_template(sessions)
    with transaction(sessions) as session:
        sent = OutboundMessage(kind="multicast", messages=[], retry_key="k-sent", status="sent")
        failed = OutboundMessage(kind="multicast", messages=[], retry_key="k-failed", status="failed")
        session.add_all([sent, failed])
        session.flush()
        coupons = []
        for i, (member_id, _) in enumerate(a[:3]):
            coupon = Coupon(
                template_id=template.id,
                member_id=member_id,
                code=f"CP{i}",
                source="campaign",
                source_key=f"campaign:{campaign_id}:{member_id}",
                valid_from=START,
                redeemed_at=START + timedelta(days=1) if i == 0 else None,
            )
            session.add(coupon)
            session.flush()
            coupons.append(coupon.id)
        sent_id, failed_id = sent.id, failed.id
    a_ids = _recipients(sessions, campaign_id, a, "A", outbound_message_id=sent_id)
    with transaction(sessions) as session:
        for member_id, coupon_id in zip(a_ids[:3], coupons, strict=True):
            session.execute(
                update(CampaignRecipient).where(CampaignRecipient.member_id == member_id).values(coupon_id=coupon_id)
            )
    b_ids = _recipients(sessions, campaign_id, b, "B", outbound_message_id=failed_id)
    h_ids = _recipients(sessions, campaign_id, hold, "holdout")
    c_ids = _recipients(sessions, campaign_id, capped, "capped")
    with transaction(sessions) as session:
        line_users.record_unfollow(session, a[5][1], at=START + timedelta(days=2))
        line_users.record_unfollow(session, a[6][1], at=START - timedelta(days=1))
        line_users.record_unfollow(session, hold[1][1], at=START + timedelta(hours=1))
    day = timedelta(days=1)
    shop.buy(a_ids[0], 1000, START + day, refunded=200)  # net 800
    shop.buy(a_ids[1], 500, START + 2 * day, online=True)
    shop.buy(a_ids[1], 300, START + 3 * day)
    shop.buy(a_ids[2], 400, START + 20 * day)  # after a 14-day window, inside a 30-day one
    shop.buy(a_ids[3], 600, START - timedelta(hours=1))  # before the start
    shop.buy(a_ids[4], 700, START + day, refunded=700)  # refunded in full: no order
    shop.buy(a_ids[0], 900, START + 14 * day)  # the first instant after the window: not in it
    shop.buy(b_ids[0], 300, START + 5 * day)
    shop.buy(h_ids[0], 200, START + day)
    shop.buy(c_ids[0], 100, START + day, online=True)
    shop.buy(outsider[0], 5000, START + day)  # not a recipient
    return _start(sessions, campaign_id)


def test_cohorts_delivery_blocks_and_coupons(known, session):
    report = reports.campaign_report(session, known)

    rows = {row.cohort: row for row in report.cohorts}
    assert [row.cohort for row in report.cohorts] == ["A", "B", "holdout", "capped"]
    assert [rows[c].recipients for c in ("A", "B", "holdout", "capped")] == [30, 10, 30, 2]
    assert (rows["A"].delivered, rows["A"].failed, rows["B"].delivered, rows["B"].failed) == (30, 0, 0, 10)
    assert (rows["holdout"].delivered, rows["holdout"].failed) == (0, 0)
    # a[5] blocked after the start, a[6] before it; one holdout member after it.
    assert (rows["A"].blocked, rows["B"].blocked, rows["holdout"].blocked) == (1, 0, 1)
    assert (rows["A"].coupons_issued, rows["A"].coupons_redeemed) == (3, 1)
    assert report.sent.recipients == 40 and report.total.recipients == 72


def test_purchases_count_in_the_window_only_net_of_refunds(known, session):
    report = reports.campaign_report(session, known, window_days=14)

    a, b = report.cohort("A").sales, report.cohort("B").sales
    assert (a.orders, a.revenue, a.buyers) == (3, 1600, 2)
    assert (b.orders, b.revenue, b.buyers) == (1, 300, 1)
    assert (report.cohort("holdout").sales.revenue, report.cohort("capped").sales.revenue) == (200, 100)
    assert report.sent.sales.basket == pytest.approx(1900 / 4)
    assert report.sent.conversion == pytest.approx(3 / 40)
    assert report.total.sales.revenue == 2200  # the outsider's NT$5,000 is nobody's

    longer = reports.campaign_report(session, known, window_days=30)
    assert (longer.cohort("A").sales.orders, longer.cohort("A").sales.revenue) == (5, 2900)
    assert longer.cohort("A").sales.buyers == 3
    days = {
        day.day: (day.sent_revenue, day.holdout_revenue)
        for day in report.days
        if day.sent_revenue or day.holdout_revenue
    }
    # Day 2 is the 24 hours from START + 1 day: a0's NT$800 net and the holdout's NT$200; capped members are in neither.
    assert days == {2: (800, 200), 3: (500, 0), 4: (300, 0), 6: (300, 0)}
    assert [day.day for day in report.days] == list(range(1, 15))
    shorter = reports.campaign_report(session, known, window_days=1)
    assert shorter.cohort("A").sales.revenue == 0  # the first purchases came a day (to the second) later


def test_by_store_and_channel(known, session):
    report = reports.campaign_report(session, known)

    stores = {row.label: row for row in report.stores}
    assert [row.label for row in report.stores] == ["台北信義店", "網路商店"]
    tpe, web = stores["台北信義店"], stores["網路商店"]
    assert (tpe.sent.orders, tpe.sent.revenue, tpe.holdout.orders, tpe.holdout.revenue) == (3, 1400, 1, 200)
    assert (tpe.total.orders, tpe.total.revenue, tpe.total.buyers) == (4, 1600, 4)
    assert (web.sent.orders, web.sent.revenue, web.total.orders, web.total.revenue) == (1, 500, 2, 600)
    channels = {row.key: row for row in report.channels}
    assert sorted(channels) == ["online", "pos"]
    assert (channels["pos"].total.revenue, channels["online"].total.revenue) == (1600, 600)


def test_the_uplift_and_its_interval_match_the_figures_worked_by_hand(known, session):
    report = reports.campaign_report(session, known)

    sent = [800, 800, 300] + [0] * 37  # revenue of each of the 40 members sent the message
    held = [200] + [0] * 29
    difference = statistics.mean(sent) - statistics.mean(held)
    se = math.sqrt(statistics.variance(sent) / 40 + statistics.variance(held) / 30)
    estimate = report.uplift.revenue_per_member
    assert estimate is not None and report.uplift.reason is None
    assert (estimate.sent, estimate.holdout) == (pytest.approx(47.5), pytest.approx(200 / 30))
    assert estimate.difference == pytest.approx(difference)
    assert (estimate.low, estimate.high) == (pytest.approx(difference - Z * se), pytest.approx(difference + Z * se))
    assert (round(estimate.low, 2), round(estimate.high, 2)) == (-16.8, 98.47)
    assert not estimate.significant

    p1, p2 = 3 / 40, 1 / 30
    se = math.sqrt(p1 * (1 - p1) / 40 + p2 * (1 - p2) / 30)
    conversion = report.uplift.conversion
    assert conversion is not None
    assert conversion.difference == pytest.approx(p1 - p2)
    assert (conversion.low, conversion.high) == (pytest.approx(p1 - p2 - Z * se), pytest.approx(p1 - p2 + Z * se))


def test_no_uplift_without_a_holdout_or_with_a_small_one(runtime, session):
    members = consenting_members(runtime.sessions, 40)
    empty = make_campaign(runtime.sessions, START - timedelta(hours=1), name="無保留")
    _recipients(runtime.sessions, empty, members, "A")
    small = make_campaign(runtime.sessions, START - timedelta(hours=1), name="小保留", holdout_percent=10)
    _recipients(runtime.sessions, small, members[:36], "A")
    _recipients(runtime.sessions, small, members[36:], "holdout")

    none = reports.campaign_report(session, _start(runtime.sessions, empty))
    few = reports.campaign_report(session, _start(runtime.sessions, small))

    assert (none.uplift.reason, none.uplift.revenue_per_member) == (reports.NO_HOLDOUT, None)
    assert (few.uplift.reason, few.uplift.holdout_members) == (reports.SMALL_HOLDOUT, 4)


def test_a_campaign_not_started_has_no_report_and_the_window_is_bounded(runtime, session):
    campaign_id = make_campaign(runtime.sessions, START)
    with transaction(runtime.sessions) as tx:
        campaign = tx.get(Campaign, campaign_id)
        assert reports.campaign_report(tx, campaign) is None
        campaign.started_at = START
        for days in (0, 91):
            with pytest.raises(ValueError):
                reports.campaign_report(tx, campaign, days)


def test_sample_variance_is_exact_for_large_sums():
    values = [10_000_000, 0, 0, 3]
    assert reports.sample_variance(4, sum(values), sum(v * v for v in values)) == statistics.variance(values)
