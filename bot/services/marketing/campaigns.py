"""Campaigns: a message to a saved segment, sent now or at a set brand-local time, through the outbox.

A campaign is composed, approved when its audience is large, and scheduled here. Starting it (campaign_start.py) is
done in steps, each its own transaction, that a killed worker resumes: the audience is resolved (the segment
re-evaluated, blocked, unbound, erased and non-consenting members left out) and written as recipient rows, each
member drawn a cohort (holdout, A or B; `capped` when they already had the weekly cap of marketing pushes); then, in
batches, coupons are issued (once per member and campaign: its source key) and the recipients grouped by identical
rendered messages into outbox rows of at most 500 (a multicast, or a push for a single recipient), each with its own
retry key derived from the campaign and chunk number. Delivery sends the rows after the commits, and the outbox sweep
re-sends rows a dead worker left behind, with the same retry keys, so no chunk goes twice and none is skipped.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from bot.services.marketing.campaign_messages import (
    CampaignInvalid,
    check_characters,
    is_personal,
    validate_spec,
)
from models import (
    Campaign,
    CampaignRecipient,
    CouponTemplate,
    OutboundMessage,
    Segment,
)

# LINE's multicast takes at most 500 user ids.
MULTICAST_MAX = 500
DELIVERIES = ("multicast", "narrowcast")
# LINE fails a narrowcast to an audience of fewer users than this (its progress: errorCode 4).
NARROWCAST_MIN = 50
TOO_SMALL = "LINE 的受眾至少要 50 人，這份名單目前只有 {n} 人，請改用一般發送"
NOT_PERSONAL = "LINE 的受眾發送是同一則訊息給所有人，無法填入 {name} 或 {points}，請移除個人欄位或改用一般發送"
# Default cap of marketing pushes a member gets in 7 days (Settings.marketing_pushes_per_week overrides).
WEEKLY_CAP = 2
# No marketing pushes between QUIET_FROM and QUIET_UNTIL, brand-local: a campaign due then waits.
QUIET_FROM, QUIET_UNTIL = time(22, 0), time(9, 0)
# A started campaign whose rows are still unsent after this long is flagged on its page.
STUCK_AFTER = timedelta(minutes=15)
SENT_COHORTS = ("A", "B")
# Outbox rows written in one INSERT statement.
ROWS_PER_INSERT = 200
SAME_MARKETER = "大量發送需由另一位行銷人員核准"

# (session, segment, at, tz) -> a select of (member id, LINE user id) who may receive marketing.
Audience = Callable[[Session, Segment, datetime, ZoneInfo], Select[int, str]]


@dataclass(frozen=True)
class Draft:
    """A campaign as composed on the page."""

    name: str
    segment_id: int
    variants: list[dict[str, Any]]
    holdout_percent: int = 0
    b_percent: int = 0
    coupon_template_id: int | None = None
    send_at: datetime | None = None  # None: now
    delivery: str = "multicast"


def in_quiet_hours(at: datetime, tz: tzinfo) -> bool:
    """Whether `at` falls in the brand-local quiet hours (22:00-09:00)."""
    local = at.astimezone(tz).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def quiet_hours_end(at: datetime, tz: tzinfo) -> datetime:
    """When a send due at `at` may start: `at` itself, or 09:00 local after the quiet hours it falls in."""
    if not in_quiet_hours(at, tz):
        return at
    local = at.astimezone(tz)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=tz)


def create_campaign(
    session: Session,
    draft: Draft,
    *,
    staff_id: int | None,
    at: datetime,
    needs_approval: bool = False,
    reach: int | None = None,
) -> Campaign:
    """Save a campaign to be sent at `draft.send_at` (now when None), or, with `needs_approval` (a large audience),
    to wait for a second marketer's approval first; CampaignInvalid when it cannot be saved, among others a
    narrowcast whose audience (`reach`, members reachable now) is under LINE's 50 or whose message is personal."""
    name = check_characters(draft.name.strip())
    if not name:
        raise CampaignInvalid("請輸入活動名稱")
    if len(name) > 100:
        raise CampaignInvalid("活動名稱最多 100 字")
    if session.get(Segment, draft.segment_id) is None:
        raise CampaignInvalid("請選擇名單")
    if not 1 <= len(draft.variants) <= 2:
        raise CampaignInvalid("請輸入訊息內容")
    variants = [validate_spec(spec) for spec in draft.variants]
    if not 0 <= draft.holdout_percent <= 50:
        raise CampaignInvalid("保留組比例須介於 0 到 50%")
    b_percent = draft.b_percent if len(variants) == 2 else 0
    if len(variants) == 2 and not 1 <= b_percent <= 99:
        raise CampaignInvalid("B 版比例須介於 1 到 99%")
    if draft.coupon_template_id is not None:
        template = session.get(CouponTemplate, draft.coupon_template_id)
        if template is None or not template.is_active:
            raise CampaignInvalid("找不到這張優惠券")
    send_at = draft.send_at or at
    if send_at < at - timedelta(minutes=1):
        raise CampaignInvalid("排程時間不能早於現在")
    if draft.delivery not in DELIVERIES:
        raise CampaignInvalid("請選擇發送方式")
    if draft.delivery == "narrowcast":
        if any(is_personal(spec) for spec in variants):
            raise CampaignInvalid(NOT_PERSONAL)
        if reach is not None and reach < NARROWCAST_MIN:
            raise CampaignInvalid(TOO_SMALL.format(n=f"{reach:,}"))
    campaign = Campaign(
        name=name,
        segment_id=draft.segment_id,
        variants=variants,
        holdout_percent=draft.holdout_percent,
        b_percent=b_percent,
        coupon_template_id=draft.coupon_template_id,
        status="pending_approval" if needs_approval else "scheduled",
        send_at=send_at,
        delivery=draft.delivery,
        created_by_staff_id=staff_id,
        created_at=at,
    )
    session.add(campaign)
    session.flush()
    return campaign


def approve_campaign(session: Session, campaign_id: int, *, staff_id: int, at: datetime) -> bool:
    """A second marketer approves a campaign that waits for approval: it is then sent at its time (at once when that
    has passed). CampaignInvalid for its own creator; False when it no longer waits (approved, cancelled)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "pending_approval":
        return False
    if campaign.created_by_staff_id == staff_id:
        raise CampaignInvalid(SAME_MARKETER)
    approved = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "pending_approval")
        .values(status="scheduled", approved_by_staff_id=staff_id, approved_at=at)
    ).rowcount  # type: ignore[attr-defined]
    return bool(approved)


def cancel_campaign(session: Session, campaign_id: int, *, staff_id: int | None) -> bool:
    """Cancel a campaign that has not started; False when it already started (or was cancelled)."""
    cancelled = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status.in_(("scheduled", "pending_approval")))
        .values(status="cancelled", cancelled_by_staff_id=staff_id)
    ).rowcount  # type: ignore[attr-defined]
    return bool(cancelled)


def due_campaigns(session: Session, now: datetime, tz: tzinfo) -> list[int]:
    """Scheduled campaigns whose time has come (none during the quiet hours: they wait until 09:00)."""
    if in_quiet_hours(now, tz):
        return []
    return list(
        session.scalars(
            select(Campaign.id)
            .where(Campaign.status == "scheduled", Campaign.send_at <= now)
            .order_by(Campaign.send_at, Campaign.id)
        )
    )


def recently_pushed(
    session: Session, member_ids: list[int], since: datetime, *, exclude_campaign_id: int | None = None
) -> dict[int, int]:
    """Marketing pushes (campaign recipients in a sent cohort) each member was given since `since`, other than by
    `exclude_campaign_id` (the campaign being started, whose rows a resumed start may have written already)."""
    counts: dict[int, int] = {}
    for start in range(0, len(member_ids), 1000):
        part = member_ids[start : start + 1000]
        rows = session.execute(
            select(CampaignRecipient.member_id, func.count())
            .where(
                CampaignRecipient.member_id.in_(part),
                CampaignRecipient.cohort.in_(SENT_COHORTS),
                CampaignRecipient.created_at >= since,
                CampaignRecipient.campaign_id != (exclude_campaign_id or 0),
            )
            .group_by(CampaignRecipient.member_id)
        )
        counts.update({int(member_id): int(n) for member_id, n in rows})
    return counts


def draw_cohorts(campaign: Campaign, member_ids: list[int]) -> dict[int, str]:
    """Holdout, A and B drawn at random in the exact shares asked (seeded by the campaign: reproducible)."""
    shuffled = sorted(member_ids)
    random.Random(f"campaign:{campaign.id}").shuffle(shuffled)
    holdout = round(len(shuffled) * campaign.holdout_percent / 100)
    rest = shuffled[holdout:]
    b_count = round(len(rest) * campaign.b_percent / 100) if len(campaign.variants) == 2 else 0
    cohorts = {member_id: "holdout" for member_id in shuffled[:holdout]}
    cohorts.update({member_id: "B" for member_id in rest[:b_count]})
    cohorts.update({member_id: "A" for member_id in rest[b_count:]})
    return cohorts


def is_overdue(campaign: Campaign, now: datetime, tz: ZoneInfo) -> bool:
    """Whether a scheduled campaign should have started more than STUCK_AFTER ago (its time, or 09:00 after the
    quiet hours it fell in) and has not: the minute job is not running, or the campaign fails to start."""
    if campaign.status != "scheduled" or in_quiet_hours(now, tz):
        return False
    return now - quiet_hours_end(campaign.send_at, tz) > STUCK_AFTER


@dataclass(frozen=True)
class Progress:
    """Where a campaign's delivery stands, counted in recipients from its outbox rows."""

    recipients: int
    holdout: int
    capped: int
    sent: int
    failed: int
    remaining: int
    stuck: bool
    # Its outbox rows are still being written (the members without one yet are counted in `remaining`).
    preparing: bool = False


def progress(session: Session, campaign: Campaign, now: datetime) -> Progress:
    """Recipients by cohort and, for those sent a message, by their outbox row's status (members of the sent cohorts
    whose row is not written yet are remaining); `stuck` when rows are still unsent STUCK_AFTER after the campaign
    started, or its preparation made no step for STUCK_AFTER."""
    by_cohort: dict[str, int] = {
        cohort: int(n)
        for cohort, n in session.execute(
            select(CampaignRecipient.cohort, func.count())
            .where(CampaignRecipient.campaign_id == campaign.id)
            .group_by(CampaignRecipient.cohort)
        )
    }
    by_status: dict[str, int] = {
        status: int(n)
        for status, n in session.execute(
            select(OutboundMessage.status, func.count())
            .join(CampaignRecipient, CampaignRecipient.outbound_message_id == OutboundMessage.id)
            .where(CampaignRecipient.campaign_id == campaign.id)
            .group_by(OutboundMessage.status)
        )
    }
    sent = int(by_status.get("sent", 0))
    remaining = int(by_status.get("pending", 0)) + int(by_status.get("sending", 0))
    failed = sum(int(n) for status, n in by_status.items() if status not in ("sent", "pending", "sending"))
    started = campaign.started_at
    preparing = campaign.status == "started" and campaign.prepared_at is None
    if preparing:
        remaining += int(
            session.scalar(
                select(func.count()).where(
                    CampaignRecipient.campaign_id == campaign.id,
                    CampaignRecipient.cohort.in_(SENT_COHORTS),
                    CampaignRecipient.outbound_message_id.is_(None),
                )
            )
            or 0
        )
    last_step = campaign.progress_at or started
    stuck = bool(remaining and started is not None and now - started > STUCK_AFTER) or bool(
        preparing and last_step is not None and now - last_step > STUCK_AFTER
    )
    return Progress(
        recipients=sum(int(n) for n in by_cohort.values()),
        holdout=int(by_cohort.get("holdout", 0)),
        capped=int(by_cohort.get("capped", 0)),
        sent=sent,
        failed=failed,
        remaining=remaining,
        stuck=stuck,
        preparing=preparing,
    )
