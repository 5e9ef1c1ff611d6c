"""Starting a campaign in steps, each in its own short transaction, so that a campaign to 100,000 members holds no
lock for long and a worker killed at any point is resumed where it stopped.

1. `claim_campaign`: scheduled -> started (one worker wins; the others find nothing to do).
2. `resolve_audience` (a read), then `write_recipients` in batches: each member once per campaign (a unique key:
   rows already written are left as they are), with the cohort drawn for them; `seal_audience` records the
   audience's size once every row is written.
3. `write_next_chunks`, repeated: the next members of the sent cohorts without an outbox row get their coupon (once
   per member and campaign: its source key), their message, and outbox rows of at most 500 ids, numbered on from
   the campaign's `chunks_written` (each chunk's retry key derives from its number). The campaign row is locked
   first, so two workers never write the same members; a step that dies is rolled back whole and done again.
   When no member is left, the campaign is `prepared_at`.

A preparation whose last step is older than PREPARATION_STALLED_AFTER is resumed by the minute job
(`stalled_preparations`). Nothing here sends: the outbox rows are delivered after the commits, and the outbox sweep
re-sends rows a dead worker left behind with the same retry keys, so no chunk goes twice and none is skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.db import dialect_insert, insert_ignoring_conflicts
from bot.services.marketing.campaign_messages import Personal, render, uses_points
from bot.services.marketing.campaigns import (
    MULTICAST_MAX,
    ROWS_PER_INSERT,
    SENT_COHORTS,
    WEEKLY_CAP,
    Audience,
    draw_cohorts,
    in_quiet_hours,
    recently_pushed,
)
from bot.services.rewards.coupons import CouponRefused, issue_coupon
from models import (
    Campaign,
    CampaignRecipient,
    Coupon,
    CouponTemplate,
    LineUser,
    Member,
    MemberBalance,
    OutboundMessage,
    Segment,
)

# Recipient rows written per transaction.
RECIPIENTS_PER_STEP = 10_000
# Members given their message (and outbox rows) per transaction; fewer with a coupon, each costing several queries.
MEMBERS_PER_STEP = 10_000
MEMBERS_PER_STEP_WITH_COUPON = 1_000
# A preparation whose last step is older than this is taken to have lost its worker and is resumed.
PREPARATION_STALLED_AFTER = timedelta(minutes=2)
_CHUNK_KEYS = uuid.UUID("3b0e8f5a-6c1d-4e2f-9a7b-1c2d3e4f5a6b")


def chunk_retry_key(campaign_id: int, number: int) -> str:
    """The X-Line-Retry-Key of a campaign's chunk number `number` (1, 2, ...): the same on every attempt."""
    return str(uuid.uuid5(_CHUNK_KEYS, f"campaign:{campaign_id}:chunk:{number}"))


def claim_campaign(session: Session, campaign_id: int, now: datetime, tz: ZoneInfo) -> bool:
    """Mark a due campaign started (scheduled -> started); False when it is not due, already started, cancelled, or
    it is the quiet hours."""
    if in_quiet_hours(now, tz):
        return False
    claimed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == "scheduled", Campaign.send_at <= now)
        .values(status="started", started_at=now, progress_at=now)
    ).rowcount  # type: ignore[attr-defined]
    return bool(claimed)


def resolve_audience(
    session: Session, campaign_id: int, now: datetime, tz: ZoneInfo, audience: Audience, weekly_cap: int = WEEKLY_CAP
) -> list[tuple[int, str]]:
    """A started campaign's audience as (member id, cohort), sorted by member id: its segment re-evaluated, each
    member drawn holdout, A or B, and `capped` when they already had `weekly_cap` marketing pushes in 7 days.
    Empty when the audience is already written (sealed), or the campaign is neither scheduled nor started. Reads
    only: resolved before the claim, a segment that cannot be evaluated leaves the campaign scheduled."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status not in ("scheduled", "started") or campaign.audience_size is not None:
        return []
    segment = session.get(Segment, campaign.segment_id)
    if segment is None:
        return []
    member_ids = sorted({int(member_id) for member_id, _ in session.execute(audience(session, segment, now, tz))})
    cohorts = draw_cohorts(campaign, member_ids)
    pushed = recently_pushed(session, member_ids, now - timedelta(days=7), exclude_campaign_id=campaign_id)
    for member_id, cohort in cohorts.items():
        if cohort in SENT_COHORTS and pushed.get(member_id, 0) >= weekly_cap:
            cohorts[member_id] = "capped"
    return [(member_id, cohorts[member_id]) for member_id in member_ids]


def write_recipients(session: Session, campaign_id: int, rows: list[tuple[int, str]], now: datetime) -> None:
    """Record these (member id, cohort) as the campaign's recipients; a member already recorded keeps their row."""
    if not rows:
        return
    insert = dialect_insert(session.get_bind().dialect.name)
    values = [
        {"campaign_id": campaign_id, "member_id": member_id, "cohort": cohort, "created_at": now}
        for member_id, cohort in rows
    ]
    # One statement run for many rows (SQLAlchemy batches them): a VALUES list built per call costs more to compile.
    table: Any = CampaignRecipient.__table__
    session.execute(insert(table).on_conflict_do_nothing(), values)
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(progress_at=now))


def seal_audience(session: Session, campaign_id: int, now: datetime) -> int:
    """Record that every recipient row is written: the audience's size (left as it is when already sealed)."""
    size = int(session.scalar(select(func.count()).where(CampaignRecipient.campaign_id == campaign_id)) or 0)
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.audience_size.is_(None))
        .values(audience_size=size, progress_at=now)
    )
    return size


@dataclass
class Step:
    """What one step of `write_next_chunks` did: the outbox rows it wrote (to deliver after the commit), and whether
    the campaign is now prepared (every chunk written)."""

    outbox_ids: list[int] = field(default_factory=list)
    members: int = 0
    prepared: bool = False


def lock_for_preparation(session: Session, campaign_id: int, now: datetime, *also: Any) -> int | None:
    """Lock a started campaign whose audience is sealed and which is not prepared yet (and meets `also`), until the
    commit, recording the step's progress: its chunks written so far, or None when there is no such campaign."""
    written: int | None = session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status == "started",
            Campaign.audience_size.is_not(None),
            Campaign.prepared_at.is_(None),
            *also,
        )
        .values(progress_at=now)
        .returning(Campaign.chunks_written)
    ).scalar_one_or_none()
    return written


def write_next_chunks(session: Session, campaign_id: int, now: datetime, limit: int | None = None) -> Step:
    """Give the next members of the sent cohorts (A, B) who have no outbox row yet their coupon and their message, in
    outbox rows of at most 500 ids numbered on from `chunks_written`; mark the campaign prepared when none is left.
    Locks the campaign row first: a second worker waits, then continues after this step's members."""
    locked = lock_for_preparation(session, campaign_id, now)
    if locked is None:
        return Step()
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    session.refresh(campaign)
    template = session.get(CouponTemplate, campaign.coupon_template_id) if campaign.coupon_template_id else None
    if limit is None:
        limit = MEMBERS_PER_STEP_WITH_COUPON if template is not None else MEMBERS_PER_STEP
    rows = session.execute(
        select(CampaignRecipient.id, CampaignRecipient.member_id, CampaignRecipient.cohort, LineUser.line_user_id)
        .join(Member, Member.id == CampaignRecipient.member_id)
        .join(LineUser, LineUser.id == Member.line_user_id)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.cohort.in_(SENT_COHORTS),
            CampaignRecipient.outbound_message_id.is_(None),
            CampaignRecipient.member_id > _done_up_to(session, campaign_id),
        )
        .order_by(CampaignRecipient.member_id)
        .limit(limit)
    ).all()
    if not rows:
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(prepared_at=now, progress_at=now))
        return Step(prepared=True)
    member_ids = [int(row.member_id) for row in rows]
    names, balances = _personal(session, member_ids, uses_points(campaign.variants))
    members = _members(session, member_ids) if template is not None else {}

    coupons: dict[int, int] = {}
    groups: dict[str, tuple[list[dict[str, Any]], list[tuple[int, int, str]]]] = {}
    for recipient_id, member_id, cohort, line_user_id in rows:
        coupon_template = None
        if template is not None:
            coupon = issue_campaign_coupon(session, members[member_id], template, campaign_id, now)
            if coupon is not None:  # sold out or at the member's limit: the message goes without the coupon line
                coupons[recipient_id], coupon_template = coupon.id, template
        spec = campaign.variants[1 if cohort == "B" else 0]
        messages = render(spec, Personal(names[member_id], balances.get(member_id, 0)), coupon_template)
        groups.setdefault(repr(messages), (messages, []))[1].append((recipient_id, member_id, line_user_id))

    number = int(locked)
    chunks: list[tuple[dict[str, Any], list[int]]] = []
    for messages, group in groups.values():
        for start in range(0, len(group), MULTICAST_MAX):
            chunk = group[start : start + MULTICAST_MAX]
            number += 1
            values = {
                "kind": "push" if len(chunk) == 1 else "multicast",
                "recipients": [line_user_id for _, _, line_user_id in chunk],
                "messages": messages,
                "retry_key": chunk_retry_key(campaign_id, number),
                "status": "pending",
                "attempts": 0,
                "created_at": now,
            }
            chunks.append((values, [recipient_id for recipient_id, _, _ in chunk]))
    step = Step(members=len(rows))
    for start in range(0, len(chunks), ROWS_PER_INSERT):
        part = chunks[start : start + ROWS_PER_INSERT]
        new_ids = insert_ignoring_conflicts(session, OutboundMessage.__table__, [v for v, _ in part], key="retry_key")
        for (values, recipient_ids), outbound_id in zip(part, new_ids, strict=True):
            if outbound_id is None:  # cannot happen while the campaign row is locked; never send a chunk twice
                raise RuntimeError(f"campaign {campaign_id}: chunk {values['retry_key']} already written")
            step.outbox_ids.append(outbound_id)
            session.execute(
                update(CampaignRecipient)
                .where(CampaignRecipient.id.in_(recipient_ids))
                .values(outbound_message_id=outbound_id)
                .execution_options(synchronize_session=False)
            )
    if coupons:
        table: Any = CampaignRecipient.__table__
        session.execute(
            update(table).where(table.c.id == bindparam("recipient")).values(coupon_id=bindparam("coupon")),
            [{"recipient": recipient_id, "coupon": coupon_id} for recipient_id, coupon_id in coupons.items()],
        )
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(chunks_written=number))
    return step


def issue_campaign_coupon(
    session: Session, member: Member, template: CouponTemplate, campaign_id: int, now: datetime
) -> Coupon | None:
    """The member's coupon from this campaign, issued once per member and campaign (its source key, so a step done
    again finds it), or None when the template refuses it (sold out, or the member at their limit)."""
    try:
        coupon, _ = issue_coupon(
            session, member, template, source="campaign", source_key=f"campaign:{campaign_id}:{member.id}", at=now
        )
    except CouponRefused:
        return None
    return coupon


def _done_up_to(session: Session, campaign_id: int) -> int:
    """Members up to this id already have their outbox rows (members without a LINE user left behind are skipped)."""
    done = session.scalar(
        select(func.max(CampaignRecipient.member_id)).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.outbound_message_id.is_not(None)
        )
    )
    return int(done or 0)


def _personal(session: Session, member_ids: list[int], points: bool) -> tuple[dict[int, str], dict[int, int]]:
    names: dict[int, str] = {}
    balances: dict[int, int] = {}
    for start in range(0, len(member_ids), 1000):
        part = member_ids[start : start + 1000]
        names.update(
            {int(i): str(n) for i, n in session.execute(select(Member.id, Member.name).where(Member.id.in_(part)))}
        )
        if points:
            rows = session.execute(
                select(MemberBalance.member_id, MemberBalance.points).where(MemberBalance.member_id.in_(part))
            )
            balances.update({int(member_id): int(n) for member_id, n in rows})
    return names, balances


def _members(session: Session, member_ids: list[int]) -> dict[int, Member]:
    members: dict[int, Member] = {}
    for start in range(0, len(member_ids), 1000):
        part = member_ids[start : start + 1000]
        members.update({m.id: m for m in session.scalars(select(Member).where(Member.id.in_(part)))})
    return members


def stalled_preparations(session: Session, now: datetime) -> list[int]:
    """Started campaigns not yet prepared whose last step is older than PREPARATION_STALLED_AFTER: their worker died
    (or the job failed) and the minute job resumes them."""
    return list(
        session.scalars(
            select(Campaign.id)
            .where(
                Campaign.status == "started",
                Campaign.prepared_at.is_(None),
                Campaign.progress_at.is_(None) | (Campaign.progress_at < now - PREPARATION_STALLED_AFTER),
            )
            .order_by(Campaign.id)
        )
    )


def undelivered_chunks(session: Session, campaign_id: int) -> list[int]:
    """The campaign's outbox rows not yet sent (pending), in chunk order: to deliver once it is prepared."""
    return list(
        session.scalars(
            select(OutboundMessage.id)
            .where(
                OutboundMessage.status == "pending",
                OutboundMessage.id.in_(
                    select(CampaignRecipient.outbound_message_id).where(CampaignRecipient.campaign_id == campaign_id)
                ),
            )
            .order_by(OutboundMessage.id)
        )
    )
