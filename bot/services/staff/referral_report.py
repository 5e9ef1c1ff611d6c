"""The referral report: per clerk and store, for a period of the brand's local days, what their referral code
brought: touches, new friends, joins, binds, and the purchases and revenue of the members credited to them.

A member's purchases (any channel: a store's till or the online shop) count for the clerk of their attribution from
the moment of the attribution for REFERRAL_CREDIT_DAYS. Revenue is what was paid less what has been refunded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.staff.referrals import REFERRING_ROLES
from models import Purchase, ReferralAttribution, ReferralLead, ReferralTouch, Staff, Store

# The longest period one report covers (a year and a day, so a whole leap year fits).
MAX_PERIOD_DAYS = 367


@dataclass
class ReportRow:
    staff_id: int
    staff_code: str
    staff_name: str
    store_id: int
    store_name: str
    touches: int = 0
    new_friends: int = 0
    joins: int = 0
    binds: int = 0
    purchases: int = 0
    revenue: int = 0


@dataclass
class Report:
    start: date
    end: date
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def totals(self) -> ReportRow:
        total = ReportRow(0, "", "", 0, "")
        for row in self.rows:
            total.touches += row.touches
            total.new_friends += row.new_friends
            total.joins += row.joins
            total.binds += row.binds
            total.purchases += row.purchases
            total.revenue += row.revenue
        return total


def period_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants a period of local days covers: from `start`'s midnight up to (not including) the midnight
    after `end`."""
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def referral_report(
    session: Session, *, start: date, end: date, tz: tzinfo, credit_days: int, store_id: int | None = None
) -> Report:
    """The report for the local days `start`..`end` (both included), of one store or of all (`store_id` None).

    Every active clerk and manager of the stores shown has a row, with or without results, and so does anyone
    (since moved or gone) who had results in the period. The caller checks the period (`end` not before `start`).
    """
    since, until = period_bounds(start, end, tz)
    rows: dict[tuple[int, int], ReportRow] = {}
    staff_names: dict[int, Staff] = {}
    store_names: dict[int, str] = {}

    def row_for(staff_id: int, row_store_id: int) -> ReportRow:
        key = (staff_id, row_store_id)
        if key not in rows:
            staff = staff_names.get(staff_id) or session.get_one(Staff, staff_id)
            if row_store_id not in store_names:
                store_names[row_store_id] = session.get_one(Store, row_store_id).name
            rows[key] = ReportRow(staff.id, staff.code, staff.name, row_store_id, store_names[row_store_id])
        return rows[key]

    roster = select(Staff).where(
        Staff.is_active.is_(True), Staff.role.in_(REFERRING_ROLES), Staff.store_id.is_not(None)
    )
    if store_id is not None:
        roster = roster.where(Staff.store_id == store_id)
    for staff in session.scalars(roster.order_by(Staff.store_id, Staff.code)):
        staff_names[staff.id] = staff
        assert staff.store_id is not None
        row_for(staff.id, staff.store_id)

    def in_store(model: type[ReferralTouch] | type[ReferralLead] | type[ReferralAttribution]) -> list[Any]:
        return [] if store_id is None else [model.store_id == store_id]

    touches = session.execute(
        select(ReferralTouch.staff_id, ReferralTouch.store_id, func.count(ReferralTouch.id))
        .where(ReferralTouch.at >= since, ReferralTouch.at < until, *in_store(ReferralTouch))
        .group_by(ReferralTouch.staff_id, ReferralTouch.store_id)
    )
    for staff_id, row_store_id, count in touches:
        row_for(staff_id, row_store_id).touches = count
    new_friends = session.execute(
        select(ReferralLead.staff_id, ReferralLead.store_id, func.count(ReferralLead.id))
        .where(ReferralLead.new_friend.is_(True), ReferralLead.at >= since, ReferralLead.at < until)
        .where(*in_store(ReferralLead))
        .group_by(ReferralLead.staff_id, ReferralLead.store_id)
    )
    for staff_id, row_store_id, count in new_friends:
        row_for(staff_id, row_store_id).new_friends = count
    attributions = session.execute(
        select(
            ReferralAttribution.staff_id,
            ReferralAttribution.store_id,
            ReferralAttribution.kind,
            func.count(ReferralAttribution.id),
        )
        .where(ReferralAttribution.at >= since, ReferralAttribution.at < until, *in_store(ReferralAttribution))
        .group_by(ReferralAttribution.staff_id, ReferralAttribution.store_id, ReferralAttribution.kind)
    )
    for staff_id, row_store_id, kind, count in attributions:
        row = row_for(staff_id, row_store_id)
        if kind == "join":
            row.joins = count
        else:
            row.binds = count
    _add_purchases(session, row_for, since, until, credit_days, store_id)
    ordered = sorted(rows.values(), key=lambda row: (row.store_name, -row.revenue, -row.joins, row.staff_code))
    return Report(start, end, ordered)


def _add_purchases(
    session: Session,
    row_for: Callable[[int, int], ReportRow],
    since: datetime,
    until: datetime,
    credit_days: int,
    store_id: int | None,
) -> None:
    """Purchases in the period by credited members, within each member's credit window."""
    query = (
        select(ReferralAttribution.staff_id, ReferralAttribution.store_id, ReferralAttribution.at, Purchase)
        .join(Purchase, Purchase.member_id == ReferralAttribution.member_id)
        .where(Purchase.created_at >= since, Purchase.created_at < until)
        .where(Purchase.created_at >= ReferralAttribution.at)
    )
    if store_id is not None:
        query = query.where(ReferralAttribution.store_id == store_id)
    totals: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    window = timedelta(days=credit_days)
    for staff_id, row_store_id, attributed_at, purchase in session.execute(query):
        if purchase.created_at >= attributed_at + window:
            continue
        total = totals[(staff_id, row_store_id)]
        total[0] += 1
        total[1] += purchase.amount - purchase.refunded_amount
    for (staff_id, row_store_id), (count, revenue) in totals.items():
        row = row_for(staff_id, row_store_id)
        row.purchases = count
        row.revenue = revenue
