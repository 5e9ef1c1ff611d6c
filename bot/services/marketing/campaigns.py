"""Campaigns: a message to a saved segment, sent now or at a set brand-local time, through the outbox.

Starting a campaign is one transaction: the audience is resolved (the segment re-evaluated, blocked, unbound, erased
and non-consenting members left out), each member is drawn a cohort (holdout, A or B; `capped` when they already had
the weekly cap of marketing pushes), coupons are issued (once per member and campaign: its source key), and the
recipients are grouped by identical rendered messages into outbox rows of at most 500 (a multicast, or a push for a
single recipient), each with its own retry key derived from the campaign and chunk. Nothing is sent in it: delivery
sends the rows after the commit, and the outbox sweep re-sends rows a dead worker left behind, with the same retry
keys, so no chunk goes twice and none is skipped. The campaign is claimed (scheduled -> started) in the same
transaction, so a second run of the job writes nothing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.services.marketing.campaign_messages import (
    CampaignInvalid,
    Personal,
    check_characters,
    render,
    uses_points,
    validate_spec,
)
from bot.services.rewards.coupons import CouponRefused, issue_coupon
from models import (
    Campaign,
    CampaignRecipient,
    CouponTemplate,
    Member,
    MemberBalance,
    OutboundMessage,
    Segment,
)

# LINE's multicast takes at most 500 user ids.
MULTICAST_MAX = 500
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
_CHUNK_KEYS = uuid.UUID("3b0e8f5a-6c1d-4e2f-9a7b-1c2d3e4f5a6b")

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
    session: Session, draft: Draft, *, staff_id: int | None, at: datetime, needs_approval: bool = False
) -> Campaign:
    """Save a campaign to be sent at `draft.send_at` (now when None), or, with `needs_approval` (a large audience),
    to wait for a second marketer's approval first; CampaignInvalid when it cannot be saved."""
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
    campaign = Campaign(
        name=name,
        segment_id=draft.segment_id,
        variants=variants,
        holdout_percent=draft.holdout_percent,
        b_percent=b_percent,
        coupon_template_id=draft.coupon_template_id,
        status="pending_approval" if needs_approval else "scheduled",
        send_at=send_at,
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


def _recently_pushed(session: Session, member_ids: list[int], since: datetime) -> dict[int, int]:
    counts: dict[int, int] = {}
    for start in range(0, len(member_ids), 1000):
        part = member_ids[start : start + 1000]
        rows = session.execute(
            select(CampaignRecipient.member_id, func.count())
            .where(
                CampaignRecipient.member_id.in_(part),
                CampaignRecipient.cohort.in_(SENT_COHORTS),
                CampaignRecipient.created_at >= since,
            )
            .group_by(CampaignRecipient.member_id)
        )
        counts.update({int(member_id): int(n) for member_id, n in rows})
    return counts


def _members(session: Session, member_ids: list[int], points: bool) -> tuple[dict[int, Member], dict[int, int]]:
    members: dict[int, Member] = {}
    balances: dict[int, int] = {}
    for start in range(0, len(member_ids), 1000):
        part = member_ids[start : start + 1000]
        members.update({m.id: m for m in session.scalars(select(Member).where(Member.id.in_(part)))})
        if points:
            rows = session.execute(
                select(MemberBalance.member_id, MemberBalance.points).where(MemberBalance.member_id.in_(part))
            )
            balances.update({int(member_id): int(n) for member_id, n in rows})
    return members, balances


def _draw(campaign: Campaign, member_ids: list[int]) -> dict[int, str]:
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


def start_campaign(
    session: Session, campaign_id: int, now: datetime, tz: ZoneInfo, audience: Audience, weekly_cap: int = WEEKLY_CAP
) -> list[int]:
    """Start a due campaign: claim it, resolve its audience, record every recipient with their cohort, issue coupons
    and write the outbox rows, all in the caller's transaction. The outbox ids to deliver after the commit (none when
    the campaign is not due, already started, cancelled, or it is the quiet hours)."""
    if in_quiet_hours(now, tz):
        return []
    claimed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "scheduled", Campaign.send_at <= now)
        .values(status="started", started_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if not claimed:
        return []
    campaign = session.get(Campaign, campaign_id)
    segment = session.get(Segment, campaign.segment_id) if campaign is not None else None
    if campaign is None or segment is None:
        return []
    line_ids: dict[int, str] = {}
    for member_id, line_user_id in session.execute(audience(session, segment, now, tz)):
        line_ids.setdefault(int(member_id), str(line_user_id))
    member_ids = sorted(line_ids)
    cohorts = _draw(campaign, member_ids)
    pushed = _recently_pushed(session, member_ids, now - timedelta(days=7))
    for member_id, cohort in cohorts.items():
        if cohort in SENT_COHORTS and pushed.get(member_id, 0) >= weekly_cap:
            cohorts[member_id] = "capped"
    members, balances = _members(session, member_ids, uses_points(campaign.variants))
    template = session.get(CouponTemplate, campaign.coupon_template_id) if campaign.coupon_template_id else None

    recipients: dict[int, CampaignRecipient] = {}
    groups: dict[str, tuple[list[dict[str, Any]], list[int]]] = {}
    for member_id in member_ids:
        cohort = cohorts[member_id]
        row = CampaignRecipient(campaign_id=campaign.id, member_id=member_id, cohort=cohort, created_at=now)
        recipients[member_id] = row
        if cohort not in SENT_COHORTS:
            continue
        member = members[member_id]
        coupon_template = None
        if template is not None:
            try:
                coupon, _ = issue_coupon(
                    session,
                    member,
                    template,
                    source="campaign",
                    source_key=f"campaign:{campaign.id}:{member_id}",
                    at=now,
                )
                row.coupon_id, coupon_template = coupon.id, template
            except CouponRefused:
                pass  # sold out or at the member's limit: the message goes without the coupon line
        spec = campaign.variants[1 if cohort == "B" else 0]
        messages = render(spec, Personal(member.name, balances.get(member_id, 0)), coupon_template)
        key = repr(messages)
        groups.setdefault(key, (messages, []))[1].append(member_id)

    outbox_ids: list[int] = []
    pending: list[tuple[dict[str, Any], list[int]]] = []

    def write(rows: list[tuple[dict[str, Any], list[int]]]) -> None:
        new_ids = insert_ignoring_conflicts(session, OutboundMessage.__table__, [v for v, _ in rows], key="retry_key")
        for (values, chunk), outbound_id in zip(rows, new_ids, strict=True):
            if outbound_id is None:  # a row with this key exists: it is not written (nor sent) a second time
                outbound_id = session.scalar(
                    select(OutboundMessage.id).where(OutboundMessage.retry_key == values["retry_key"])
                )
            else:
                outbox_ids.append(outbound_id)
            for member_id in chunk:
                recipients[member_id].outbound_message_id = outbound_id

    chunk_number = 0
    for messages, group in groups.values():
        for start in range(0, len(group), MULTICAST_MAX):
            chunk = group[start : start + MULTICAST_MAX]
            to = [line_ids[member_id] for member_id in chunk]
            chunk_number += 1
            values = {
                "kind": "push" if len(to) == 1 else "multicast",
                "recipients": to,
                "messages": messages,
                "retry_key": str(uuid.uuid5(_CHUNK_KEYS, f"campaign:{campaign.id}:chunk:{chunk_number}")),
                "status": "pending",
                "attempts": 0,
                "created_at": now,
            }
            pending.append((values, chunk))
            if len(pending) == ROWS_PER_INSERT:
                write(pending)
                pending = []
    if pending:
        write(pending)
    session.add_all(recipients.values())
    session.flush()
    return outbox_ids


def start_due_campaigns(
    session: Session, now: datetime, tz: ZoneInfo, audience: Audience, weekly_cap: int = WEEKLY_CAP
) -> list[int]:
    """Start every campaign that is due (see `start_campaign`); the outbox ids to deliver after the commit."""
    outbox_ids: list[int] = []
    for campaign_id in due_campaigns(session, now, tz):
        outbox_ids += start_campaign(session, campaign_id, now, tz, audience, weekly_cap)
    return outbox_ids


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


def progress(session: Session, campaign: Campaign, now: datetime) -> Progress:
    """Recipients by cohort and, for those sent a message, by their outbox row's status; `stuck` when rows are
    still unsent STUCK_AFTER after the campaign started."""
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
    stuck = bool(remaining and started is not None and now - started > STUCK_AFTER)
    return Progress(
        recipients=sum(int(n) for n in by_cohort.values()),
        holdout=int(by_cohort.get("holdout", 0)),
        capped=int(by_cohort.get("capped", 0)),
        sent=sent,
        failed=failed,
        remaining=remaining,
        stuck=stuck,
    )
