"""RFM groups: recency, frequency and monetary scores (1-5) of the members who bought in the last 365 brand-local
days, mapped to a named group, stored in member_rfm by the nightly job so the `rfm_group` condition is one lookup.

A score is the member's quintile among those members: 1 + (rank - 1) * 5 // n, where rank orders members from the
oldest last purchase / fewest purchases / lowest spend up, and members with equal values share a rank (so the same
value always gets the same score). The group is the first line of RFM_RULES that fits (docs/console.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, Select, and_, case, cast, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from models import Member, MemberRfm, Purchase

PERIOD_DAYS = 365

# code: (zh-TW name, the rule in words) — in the order the rules are tried.
RFM_GROUPS: dict[str, tuple[str, str]] = {
    "champions": ("冠軍顧客", "R ≥ 4、F ≥ 4、M ≥ 4：最近買過、常買、花得多"),
    "loyal": ("忠誠顧客", "R ≥ 3、F ≥ 4：常買，而且不久前還來過"),
    "potential": ("潛力顧客", "R ≥ 4、F 2–3：最近買過，已經回購"),
    "new": ("新顧客", "R ≥ 4、F = 1：最近第一次買"),
    "attention": ("需要關注", "R = 3、F ≤ 3：有一陣子沒來，買得不多"),
    "hibernating": ("沉睡顧客", "R = 2：很久沒來"),
    "lost": ("流失顧客", "R = 1：一年內最早買過、之後沒再來"),
}


def _scores_query(at: datetime, tz: ZoneInfo) -> Select[Any]:
    today = at.astimezone(tz).date()
    since = datetime.combine(today - timedelta(days=PERIOD_DAYS - 1), time(), tz)
    spend = func.sum(Purchase.amount - Purchase.refunded_amount)
    per_member = (
        select(
            Purchase.member_id.label("member_id"),
            func.max(Purchase.created_at).label("last_purchase_at"),
            func.count(Purchase.id).label("purchases"),
            spend.label("spend"),
        )
        .join(Member, Member.id == Purchase.member_id)
        .where(Purchase.created_at >= since, Purchase.created_at <= at, Member.erased_at.is_(None))
        .group_by(Purchase.member_id)
        .subquery()
    )
    total = func.count().over()

    def score(column: ColumnElement[Any]) -> ColumnElement[int]:
        return cast(1 + (func.rank().over(order_by=column) - 1) * 5 // total, Integer)

    scored = select(
        *per_member.c,
        score(per_member.c.last_purchase_at).label("r"),
        score(per_member.c.purchases).label("f"),
        score(per_member.c.spend).label("m"),
    ).subquery()
    r, f, m = scored.c.r, scored.c.f, scored.c.m
    group = case(
        (and_(r >= 4, f >= 4, m >= 4), "champions"),
        (and_(r >= 3, f >= 4), "loyal"),
        (and_(r >= 4, f >= 2), "potential"),
        (r >= 4, "new"),
        (r == 3, "attention"),
        (r == 2, "hibernating"),
        else_="lost",
    )
    return select(
        scored.c.member_id,
        r,
        f,
        m,
        group,
        scored.c.last_purchase_at,
        scored.c.purchases,
        scored.c.spend,
        literal(at, MemberRfm.computed_at.type),
    )


def compute_rfm(session: Session, at: datetime, tz: ZoneInfo) -> int:
    """Replace every member's stored RFM scores and group with those of `at` (one INSERT ... SELECT, nothing
    looped in Python); returns how many members have a group."""
    session.execute(delete(MemberRfm))
    columns = [
        MemberRfm.member_id,
        MemberRfm.recency,
        MemberRfm.frequency,
        MemberRfm.monetary,
        MemberRfm.rfm_group,
        MemberRfm.last_purchase_at,
        MemberRfm.purchases,
        MemberRfm.spend,
        MemberRfm.computed_at,
    ]
    session.execute(insert(MemberRfm).from_select([c.key for c in columns], _scores_query(at, tz)))
    return session.scalar(select(func.count()).select_from(MemberRfm)) or 0


@dataclass(frozen=True)
class Distribution:
    """How many members each RFM group holds, as last computed (computed_at None: never computed)."""

    counts: dict[str, int]
    computed_at: datetime | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def distribution(session: Session) -> Distribution:
    """Members per RFM group (every group, 0 included) and when the groups were computed."""
    query = select(MemberRfm.rfm_group, func.count()).group_by(MemberRfm.rfm_group)
    rows = {group: n for group, n in session.execute(query)}
    computed_at = session.scalar(select(func.max(MemberRfm.computed_at)))
    return Distribution({code: rows.get(code, 0) for code in RFM_GROUPS}, computed_at)
