"""A campaign's report: who it reached (by cohort), what was delivered, who blocked the account since, the coupons it
issued and how many were redeemed, and what its recipients bought in the N days after it started, by cohort, store
and channel, with the uplift of the sent group (A and B) over the holdout and its 95 % confidence interval.

Everything is counted by the database in a handful of grouped queries over the campaign's recipients (no loop over
members in Python), so a report over 100,000 recipients costs a few aggregates.

Definitions (docs/console.md, "Campaign reports"):
- the window is [started_at, started_at + N days), N = 1..90;
- "blocked since" counts the recipients (through the LINE user they are bound to now) with at least one unfollow in
  the window in the LINE friendship history (line_friendship_events): once each, whether or not they came back;
- revenue is each purchase's amount less what has been refunded of it (up to now, even after the window); a purchase
  refunded in full is not an order, and its member is not a buyer for it;
- basket size is revenue / orders; conversion is buyers / recipients; revenue per member is revenue / recipients
  (members who bought nothing count as 0);
- the uplift compares the sent group (cohorts A and B; capped members are in neither) with the holdout: the
  difference of the means with a normal-approximation 95 % interval, Welch's standard error for revenue per member
  and the unpooled two-proportion standard error for conversion.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Subquery, and_, case, cast, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import (
    Campaign,
    CampaignNarrowcast,
    CampaignRecipient,
    Coupon,
    LineFriendshipEvent,
    Member,
    OutboundMessage,
    Purchase,
    Store,
)

COHORTS = ("A", "B", "holdout", "capped")
SENT_COHORTS = ("A", "B")
WINDOW_DEFAULT, WINDOW_MIN, WINDOW_MAX = 14, 1, 90
# The fewest members in the holdout and in the sent group for the normal approximation to be worth showing.
MIN_GROUP = 30
# The two-sided 95 % quantile of the standard normal distribution.
Z95 = 1.959963984540054
# Why an uplift is not computed (the page words them).
NO_HOLDOUT, SMALL_HOLDOUT, SMALL_SENT = "no_holdout", "small_holdout", "small_sent"


@dataclass
class Sales:
    """Orders, net revenue (NT$) and distinct buyers; `revenue_squares` is the sum over buyers of the square of their
    own revenue (for the variance of revenue per member)."""

    orders: int = 0
    revenue: int = 0
    buyers: int = 0
    revenue_squares: int = 0

    @property
    def basket(self) -> float | None:
        """Average order (NT$), None without orders."""
        return self.revenue / self.orders if self.orders else None

    def __add__(self, other: Sales) -> Sales:
        return Sales(
            self.orders + other.orders,
            self.revenue + other.revenue,
            self.buyers + other.buyers,
            self.revenue_squares + other.revenue_squares,
        )


@dataclass
class CohortRow:
    """One cohort (or the sum of some: members are in exactly one cohort, so every count adds up)."""

    cohort: str
    recipients: int = 0
    delivered: int = 0
    failed: int = 0
    blocked: int = 0
    coupons_issued: int = 0
    coupons_redeemed: int = 0
    sales: Sales = field(default_factory=Sales)

    @property
    def conversion(self) -> float | None:
        """Buyers / recipients, None for an empty cohort."""
        return self.sales.buyers / self.recipients if self.recipients else None

    @property
    def revenue_per_member(self) -> float | None:
        """Revenue / recipients, None for an empty cohort."""
        return self.sales.revenue / self.recipients if self.recipients else None

    def __add__(self, other: CohortRow) -> CohortRow:
        return CohortRow(
            cohort=self.cohort,
            recipients=self.recipients + other.recipients,
            delivered=self.delivered + other.delivered,
            failed=self.failed + other.failed,
            blocked=self.blocked + other.blocked,
            coupons_issued=self.coupons_issued + other.coupons_issued,
            coupons_redeemed=self.coupons_redeemed + other.coupons_redeemed,
            sales=self.sales + other.sales,
        )


@dataclass
class Breakdown:
    """Sales of one store or channel, by cohort."""

    key: str
    label: str
    by_cohort: dict[str, Sales] = field(default_factory=dict)

    def of(self, cohorts: Iterable[str]) -> Sales:
        """The sales of these cohorts together."""
        total = Sales()
        for cohort in cohorts:
            total = total + self.by_cohort.get(cohort, Sales())
        return total

    @property
    def sent(self) -> Sales:
        return self.of(SENT_COHORTS)

    @property
    def holdout(self) -> Sales:
        return self.of(("holdout",))

    @property
    def total(self) -> Sales:
        return self.of(COHORTS)


@dataclass(frozen=True)
class Estimate:
    """A difference of the sent group's and the holdout's figure, with its 95 % confidence interval."""

    sent: float
    holdout: float
    difference: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """Whether the interval leaves out 0."""
        return self.low > 0 or self.high < 0

    @property
    def relative(self) -> float | None:
        """The difference as a share of the holdout's figure (None when that is 0)."""
        return self.difference / self.holdout if self.holdout else None


@dataclass(frozen=True)
class Uplift:
    """The sent group against the holdout; `reason` (NO_HOLDOUT, SMALL_HOLDOUT, SMALL_SENT) when not computed."""

    sent_members: int
    holdout_members: int
    revenue_per_member: Estimate | None = None
    conversion: Estimate | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Day:
    """One day of the window (the 24 hours from `started_at` + day - 1 days): the net revenue of the sent group and
    of the holdout's orders in it."""

    day: int
    sent_revenue: int
    holdout_revenue: int


@dataclass(frozen=True)
class CampaignReport:
    campaign_id: int
    started_at: datetime
    window_days: int
    window_end: datetime
    cohorts: list[CohortRow]
    stores: list[Breakdown]
    channels: list[Breakdown]
    uplift: Uplift
    days: list[Day] = field(default_factory=list)

    @property
    def sent(self) -> CohortRow:
        """Cohorts A and B together: the members who were sent the message."""
        return self.cohort_sum("sent", SENT_COHORTS)

    @property
    def total(self) -> CohortRow:
        return self.cohort_sum("total", COHORTS)

    def cohort(self, name: str) -> CohortRow:
        return next(row for row in self.cohorts if row.cohort == name)

    def cohort_sum(self, name: str, cohorts: Iterable[str]) -> CohortRow:
        total = CohortRow(name)
        for cohort in cohorts:
            total = total + self.cohort(cohort)
        return total


def window_bounds(started_at: datetime, window_days: int) -> tuple[datetime, datetime]:
    """The instants the report's purchases fall in: from the start up to (not including) N days later."""
    return started_at, started_at + timedelta(days=window_days)


def _net() -> ColumnElement[int]:
    return Purchase.amount - Purchase.refunded_amount


def _is_order() -> ColumnElement[bool]:
    """A purchase that still counts: not refunded in full (a NT$0 purchase, e.g. a free item, counts)."""
    return or_(Purchase.refunded_amount < Purchase.amount, Purchase.amount == 0)


def _recipient_purchases(campaign_id: int, since: datetime, until: datetime) -> list[ColumnElement[bool]]:
    return [
        CampaignRecipient.campaign_id == campaign_id,
        Purchase.member_id == CampaignRecipient.member_id,
        Purchase.created_at >= since,
        Purchase.created_at < until,
        _is_order(),
    ]


def _unfollowed_between(since: datetime, until: datetime) -> Subquery:
    """The LINE users (line_users.id) who blocked the account at least once in [since, until): from the friendship
    history, so one who blocked and came back still counts, and one who blocked twice counts once."""
    return (
        select(LineFriendshipEvent.line_user_id.label("line_user_id"))
        .where(
            LineFriendshipEvent.kind == "unfollow",
            LineFriendshipEvent.at >= since,
            LineFriendshipEvent.at < until,
        )
        .distinct()
        .subquery("unfollowed")
    )


def _cohort_rows(session: Session, campaign: Campaign, since: datetime, until: datetime) -> dict[str, CohortRow]:
    rows = {cohort: CohortRow(cohort) for cohort in COHORTS}
    unfollowed = _unfollowed_between(since, until)
    counts = session.execute(
        select(
            CampaignRecipient.cohort,
            func.count(),
            func.count(CampaignRecipient.coupon_id),
            func.count(Coupon.redeemed_at),
            func.count(unfollowed.c.line_user_id),
        )
        .select_from(CampaignRecipient)
        .join(Member, Member.id == CampaignRecipient.member_id)
        .outerjoin(unfollowed, unfollowed.c.line_user_id == Member.line_user_id)
        .outerjoin(Coupon, Coupon.id == CampaignRecipient.coupon_id)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .group_by(CampaignRecipient.cohort)
    )
    for cohort, recipients, issued, redeemed, blocked_count in counts:
        row = rows.setdefault(cohort, CohortRow(cohort))
        row.recipients, row.coupons_issued = int(recipients), int(issued)
        row.coupons_redeemed, row.blocked = int(redeemed), int(blocked_count or 0)
    delivery = session.execute(
        select(CampaignRecipient.cohort, OutboundMessage.status, func.count())
        .join(OutboundMessage, OutboundMessage.id == CampaignRecipient.outbound_message_id)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .group_by(CampaignRecipient.cohort, OutboundMessage.status)
    )
    for cohort, status, n in delivery:
        row = rows.setdefault(cohort, CohortRow(cohort))
        if status == "sent":
            row.delivered += int(n)
        elif status not in ("pending", "sending"):  # failed, dropped, unknown: never shown as delivered
            row.failed += int(n)
    # A narrowcast has no outbox rows: delivered and failed are what LINE reported once it finished.
    for narrowcast in session.scalars(
        select(CampaignNarrowcast).where(
            CampaignNarrowcast.campaign_id == campaign.id, CampaignNarrowcast.phase.in_(("succeeded", "failed"))
        )
    ):
        row = rows.setdefault(narrowcast.cohort, CohortRow(narrowcast.cohort))
        if narrowcast.phase == "succeeded":
            row.delivered += narrowcast.success_count or 0
            row.failed += narrowcast.failure_count or 0
        else:
            row.failed += narrowcast.recipients
    return rows


def _cohort_sales(session: Session, campaign_id: int, since: datetime, until: datetime) -> dict[str, Sales]:
    per_member = (
        select(
            CampaignRecipient.cohort.label("cohort"),
            func.count(Purchase.id).label("orders"),
            cast(func.sum(_net()), BigInteger).label("revenue"),
        )
        .select_from(CampaignRecipient)
        .join(Purchase, and_(*_recipient_purchases(campaign_id, since, until)))
        .group_by(CampaignRecipient.cohort, CampaignRecipient.member_id)
        .subquery()
    )
    totals = session.execute(
        select(
            per_member.c.cohort,
            func.count(),
            func.sum(per_member.c.orders),
            func.sum(per_member.c.revenue),
            func.sum(per_member.c.revenue * per_member.c.revenue),
        ).group_by(per_member.c.cohort)
    )
    return {
        cohort: Sales(orders=int(orders), revenue=int(revenue), buyers=int(buyers), revenue_squares=int(squares))
        for cohort, buyers, orders, revenue, squares in totals
    }


def _breakdown(
    session: Session, campaign_id: int, since: datetime, until: datetime, key: InstrumentedAttribute[Any]
) -> dict[str, dict[str, Sales]]:
    # Grouped per member first, then counted: two hash aggregates instead of the sort a COUNT(DISTINCT) needs.
    per_member = (
        select(
            key.label("key"),
            CampaignRecipient.cohort.label("cohort"),
            func.count(Purchase.id).label("orders"),
            func.sum(_net()).label("revenue"),
        )
        .select_from(CampaignRecipient)
        .join(Purchase, and_(*_recipient_purchases(campaign_id, since, until)))
        .group_by(key, CampaignRecipient.cohort, Purchase.member_id)
        .subquery()
    )
    rows = session.execute(
        select(
            per_member.c.key,
            per_member.c.cohort,
            func.sum(per_member.c.orders),
            func.sum(per_member.c.revenue),
            func.count(),
        ).group_by(per_member.c.key, per_member.c.cohort)
    )
    found: dict[str, dict[str, Sales]] = {}
    for value, cohort, orders, revenue, buyers in rows:
        found.setdefault(str(value), {})[cohort] = Sales(int(orders), int(revenue or 0), int(buyers))
    return found


def _store_breakdown(session: Session, campaign_id: int, since: datetime, until: datetime) -> list[Breakdown]:
    by_store = _breakdown(session, campaign_id, since, until, Purchase.store_id)
    if not by_store:
        return []
    stores = session.execute(select(Store.id, Store.name).where(Store.id.in_([int(key) for key in by_store])))
    names = {str(store_id): str(name) for store_id, name in stores}
    rows = [Breakdown(key, names.get(key, key), sales) for key, sales in by_store.items()]
    return sorted(rows, key=lambda row: (-row.total.revenue, row.label))


def _channel_breakdown(session: Session, campaign_id: int, since: datetime, until: datetime) -> list[Breakdown]:
    by_channel = _breakdown(session, campaign_id, since, until, Purchase.channel)
    return [Breakdown(key, key, sales) for key, sales in sorted(by_channel.items())]


def _daily(session: Session, campaign_id: int, since: datetime, window_days: int) -> list[Day]:
    bounds = [since + timedelta(days=day) for day in range(1, window_days + 1)]
    day = case(*[(Purchase.created_at < bound, index + 1) for index, bound in enumerate(bounds)])
    group = case((CampaignRecipient.cohort.in_(SENT_COHORTS), "sent"), else_="holdout")
    rows = session.execute(
        select(day, group, func.sum(_net()))
        .select_from(CampaignRecipient)
        .join(Purchase, and_(*_recipient_purchases(campaign_id, since, bounds[-1])))
        .where(CampaignRecipient.cohort.in_((*SENT_COHORTS, "holdout")))
        .group_by(day, group)
    )
    revenue = {(int(index), str(name)): int(total or 0) for index, name, total in rows}
    return [
        Day(index, revenue.get((index, "sent"), 0), revenue.get((index, "holdout"), 0))
        for index in range(1, window_days + 1)
    ]


def _estimate(sent: float, holdout: float, standard_error: float) -> Estimate:
    difference = sent - holdout
    margin = Z95 * standard_error
    return Estimate(sent, holdout, difference, difference - margin, difference + margin)


def sample_variance(n: int, total: int, squares: int) -> float:
    """The sample variance (n - 1 in the denominator) of n values from their sum and sum of squares, computed
    exactly in integers before the one division."""
    if n < 2:
        return 0.0
    return (n * squares - total * total) / (n * (n - 1))


def uplift(sent: CohortRow, holdout: CohortRow, min_group: int = MIN_GROUP) -> Uplift:
    """The sent group's revenue per member and conversion against the holdout's, each as a difference with its 95 %
    interval (normal approximation): Welch's standard error sqrt(s1²/n1 + s2²/n2) for revenue per member, and
    sqrt(p1(1-p1)/n1 + p2(1-p2)/n2) for conversion. Not computed without a holdout or with fewer than `min_group`
    members in either group."""
    n_sent, n_hold = sent.recipients, holdout.recipients
    if n_hold == 0:
        return Uplift(n_sent, n_hold, reason=NO_HOLDOUT)
    if n_hold < min_group:
        return Uplift(n_sent, n_hold, reason=SMALL_HOLDOUT)
    if n_sent < min_group:
        return Uplift(n_sent, n_hold, reason=SMALL_SENT)
    mean_sent, mean_hold = sent.sales.revenue / n_sent, holdout.sales.revenue / n_hold
    var_sent = sample_variance(n_sent, sent.sales.revenue, sent.sales.revenue_squares)
    var_hold = sample_variance(n_hold, holdout.sales.revenue, holdout.sales.revenue_squares)
    revenue = _estimate(mean_sent, mean_hold, math.sqrt(var_sent / n_sent + var_hold / n_hold))
    p_sent, p_hold = sent.sales.buyers / n_sent, holdout.sales.buyers / n_hold
    se = math.sqrt(p_sent * (1 - p_sent) / n_sent + p_hold * (1 - p_hold) / n_hold)
    return Uplift(n_sent, n_hold, revenue_per_member=revenue, conversion=_estimate(p_sent, p_hold, se))


def campaign_report(session: Session, campaign: Campaign, window_days: int = WINDOW_DEFAULT) -> CampaignReport | None:
    """The report of a started campaign (None before it starts, or when cancelled) over a window of `window_days`
    days after its start (the caller keeps it within WINDOW_MIN..WINDOW_MAX)."""
    if campaign.started_at is None:
        return None
    if not WINDOW_MIN <= window_days <= WINDOW_MAX:
        raise ValueError(f"window_days must be {WINDOW_MIN}..{WINDOW_MAX}")
    since, until = window_bounds(campaign.started_at, window_days)
    rows = _cohort_rows(session, campaign, since, until)
    for cohort, sales in _cohort_sales(session, campaign.id, since, until).items():
        rows.setdefault(cohort, CohortRow(cohort)).sales = sales
    cohorts = [rows[cohort] for cohort in COHORTS] + [row for name, row in rows.items() if name not in COHORTS]
    sent = CohortRow("sent")
    for cohort in SENT_COHORTS:
        sent = sent + rows[cohort]
    return CampaignReport(
        campaign_id=campaign.id,
        started_at=campaign.started_at,
        window_days=window_days,
        window_end=until,
        cohorts=cohorts,
        stores=_store_breakdown(session, campaign.id, since, until),
        channels=_channel_breakdown(session, campaign.id, since, until),
        uplift=uplift(sent, rows["holdout"]),
        days=_daily(session, campaign.id, since, window_days),
    )
