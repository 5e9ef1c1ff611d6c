"""Missions (任務): progress driven by what really happened, never by the shopper's word.

Each fact moves the progress where it happens, in the same unit of work: a purchase (`on_purchase`: a visit to a
physical store once per brand-local day, and the amount spent), a refund (`on_refund`: takes the amount back from the
period of the purchase), a coupon redemption (`on_coupon_redeemed`; an undone one is taken back), a check-in
(`on_check_in`), a friend who joins with the member's invite (`invites.credit_inviter`) and a poll answer
(`polls.answer_poll`).

Progress is one row per (mission, member, period) — the unique key — locked while it moves, so concurrent facts add
up and the completion is seen once: the transaction that brings the value to the target marks it completed, issues
the reward (ledger points, a coupon, or lucky-draw plays, each keyed by the mission, member and period) and records
`MissionCompleted`, which the dispatcher pushes as 「任務完成！」.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.services import facts
from bot.services.refusals import Refused
from bot.services.rewards.coupons import issue_coupon
from bot.services.rewards.ledger import post_points
from bot.services.rewards.point_expiry import expiry_for
from models import Coupon, CouponTemplate, Member, Mission, MissionProgress, Purchase, Store

log = logging.getLogger(__name__)

REWARD_REASON = "任務完成"


@dataclass(frozen=True)
class MissionCompleted(facts.MemberFact):
    """A member completed a mission in a period; its reward was issued in the same transaction."""

    progress_id: int


def local_day(at: datetime, tz: tzinfo) -> date:
    """The brand-local calendar day of a moment."""
    return at.astimezone(tz).date()


def period_of(mission: Mission, day: date) -> tuple[date, date]:
    """The first and last brand-local day of the mission's period that holds `day`: the whole mission, or the
    Monday-to-Sunday week (cut to the mission's dates) of a weekly one."""
    if mission.repeat != "weekly":
        return mission.starts_on, mission.ends_on
    monday = day - timedelta(days=day.weekday())
    return monday, min(monday + timedelta(days=6), mission.ends_on)


# Built once: every purchase, check-in and stamp asks which missions run today.
_RUNNING = (
    select(Mission)
    .where(Mission.is_active.is_(True), Mission.starts_on <= bindparam("day"), Mission.ends_on >= bindparam("day"))
    .order_by(Mission.sort_order, Mission.id)
)
_RUNNING_OF_KIND = _RUNNING.where(Mission.kind == bindparam("kind"))


def active_missions(session: Session, day: date, kind: str | None = None) -> list[Mission]:
    """The missions running on a brand-local day (of one kind, if given), in the brand's order."""
    if kind is None:
        return list(session.scalars(_RUNNING, {"day": day}))
    return list(session.scalars(_RUNNING_OF_KIND, {"day": day, "kind": kind}))


def _locked_progress(session: Session, mission: Mission, member_id: int, start: date, now: datetime) -> MissionProgress:
    """The member's progress row for the period, created at 0 if need be, locked until the transaction ends."""
    insert_ignoring_conflicts(
        session,
        MissionProgress.__table__,
        [
            {
                "mission_id": mission.id,
                "member_id": member_id,
                "period_start": start,
                "value": 0,
                "updated_at": now,
                "created_at": now,
            }
        ],
    )
    return session.scalars(
        select(MissionProgress)
        .where(
            MissionProgress.mission_id == mission.id,
            MissionProgress.member_id == member_id,
            MissionProgress.period_start == start,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _advance(
    session: Session,
    member: Member,
    mission: Mission,
    counts: Callable[[MissionProgress], int],
    *,
    at: datetime,
    now: datetime,
    tz: tzinfo,
) -> MissionProgress:
    start, _end = period_of(mission, local_day(at, tz))
    row = _locked_progress(session, mission, member.id, start, now)
    amount = counts(row)
    if amount == 0:
        return row
    row.value = max(0, row.value + amount)
    row.updated_at = now
    session.flush()
    if amount > 0 and row.completed_at is None and row.value >= mission.target:
        _complete(session, member, mission, row, now, tz)
    return row


def record_progress(
    session: Session,
    member: Member,
    kind: str,
    amount: int,
    *,
    at: datetime,
    tz: tzinfo,
    now: datetime | None = None,
    applies: Callable[[Mission], bool] | None = None,
) -> list[MissionProgress]:
    """Add `amount` (negative to take back) to the member's progress on every mission of `kind` running at `at` (the
    moment the fact counts for), in that moment's period; a mission brought to its target is completed and rewarded
    now (at `now`, by default `at`), once. Runs in the caller's transaction. An erased member makes no progress."""
    if member.erased_at is not None or amount == 0:
        return []
    rows = []
    for mission in active_missions(session, local_day(at, tz), kind):
        if applies is not None and not applies(mission):
            continue
        rows.append(_advance(session, member, mission, lambda _row: amount, at=at, now=now or at, tz=tz))
    return rows


def _complete(
    session: Session, member: Member, mission: Mission, row: MissionProgress, now: datetime, tz: tzinfo
) -> None:
    row.completed_at = now
    key = f"mission:{mission.id}:{member.id}:{row.period_start.isoformat()}"
    try:
        with session.begin_nested():
            _reward(session, member, mission, row, key, now, tz)
            session.flush()
    except Refused as refusal:  # e.g. the reward coupon ran out: the mission is still completed
        log.warning("mission %s reward for member %s not given: %s", mission.id, member.id, refusal.reason)
    facts.record(session, MissionCompleted(member.id, row.id))
    log.info("member %s completed mission %s", member.id, mission.id)


def _reward(
    session: Session, member: Member, mission: Mission, row: MissionProgress, key: str, now: datetime, tz: tzinfo
) -> None:
    if mission.reward_points:
        entry, _created = post_points(
            session,
            member.id,
            mission.reward_points,
            kind="earn",
            reason=f"{REWARD_REASON}：{mission.title}"[:200],
            channel="line_task",
            idempotency_key=key,
            at=now,
            expires_at=expiry_for(now, tz),
        )
        row.reward_point_entry_id = entry.id
    elif mission.reward_coupon_template_id is not None:
        template = session.get_one(CouponTemplate, mission.reward_coupon_template_id)
        coupon, _created = issue_coupon(session, member, template, source="task", source_key=key, at=now)
        row.reward_coupon_id = coupon.id
    elif mission.reward_plays:
        from bot.services.engagement.games import grant_plays  # here: games import check-ins, which count here

        grant_plays(session, member, mission.reward_plays, f"{REWARD_REASON}：{mission.title}", now, key=key)


def _visited_earlier_that_day(session: Session, purchase: Purchase, tz: tzinfo) -> bool:
    """Whether another store purchase of the member's that day is already on record: the first to take the progress
    row's lock counts the day, whichever of two concurrent purchases that is."""
    day = local_day(purchase.created_at, tz)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    earlier = session.scalar(
        select(Purchase.id)
        .join(Store, Store.id == Purchase.store_id)
        .where(
            Purchase.member_id == purchase.member_id,
            Purchase.id != purchase.id,
            Purchase.channel == "pos",
            Store.is_online.is_(False),
            Purchase.created_at >= start,
            Purchase.created_at < start + timedelta(days=1),
        )
        .limit(1)
    )
    return earlier is not None


def on_purchase(session: Session, member: Member, purchase: Purchase, tz: tzinfo) -> None:
    """A purchase recorded: a visit (a POS purchase at a physical store, counted once per member and brand-local day)
    and the amount spent. Called by the purchase service in the purchase's transaction."""
    if member.erased_at is not None:
        return
    at = purchase.created_at
    store = session.get_one(Store, purchase.store_id)
    if purchase.channel == "pos" and not store.is_online:
        for mission in active_missions(session, local_day(at, tz), "visit_store"):
            # The progress row is locked first, so a same-day purchase committed meanwhile is seen here.
            _advance(
                session,
                member,
                mission,
                lambda _row: 0 if _visited_earlier_that_day(session, purchase, tz) else 1,
                at=at,
                now=at,
                tz=tz,
            )
    record_progress(session, member, "spend", purchase.amount, at=at, tz=tz)


def on_refund(session: Session, purchase: Purchase, amount: int, at: datetime, tz: tzinfo) -> None:
    """A refund takes its amount back from the spend progress of the purchase's period (a mission already completed
    stays completed, its reward kept). Called by the refund service in the refund's transaction."""
    member = session.get_one(Member, purchase.member_id)
    record_progress(session, member, "spend", -amount, at=purchase.created_at, now=at, tz=tz)


def on_coupon_redeemed(session: Session, coupon: Coupon, at: datetime, tz: tzinfo) -> None:
    """A coupon redeemed at a store counts for the coupon's member on redeem missions (of its template, when the
    mission names one). Called by the coupon service in the redemption's transaction."""
    member = session.get_one(Member, coupon.member_id)
    record_progress(
        session,
        member,
        "redeem_coupon",
        1,
        at=at,
        tz=tz,
        applies=lambda mission: mission.coupon_template_id in (None, coupon.template_id),
    )


def on_coupon_redemption_undone(
    session: Session, coupon: Coupon, redeemed_at: datetime, at: datetime, tz: tzinfo
) -> None:
    """A clerk undid a redemption: it no longer counts in the period it was made in (a mission it completed stays
    completed, its reward kept). Called by the coupon service in the undo's transaction."""
    member = session.get_one(Member, coupon.member_id)
    record_progress(
        session,
        member,
        "redeem_coupon",
        -1,
        at=redeemed_at,
        now=at,
        tz=tz,
        applies=lambda mission: mission.coupon_template_id in (None, coupon.template_id),
    )


def on_check_in(session: Session, member: Member, at: datetime, tz: tzinfo) -> None:
    """A check-in (one per member and brand-local day) counts one day on check-in missions. Called by the check-in
    service in the check-in's transaction."""
    record_progress(session, member, "checkin", 1, at=at, tz=tz)
