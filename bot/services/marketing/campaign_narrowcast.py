"""Narrowcast delivery of a campaign (issue 14, part 4): for very large audiences the brand may send each variant to
an audience uploaded to LINE instead of in multicast chunks.

After the audience is written and sealed (campaign_start.py), `plan_narrowcasts` refuses the start when a variant's
audience is under LINE's minimum of 50 (the reason recorded on the campaign, nothing sent), or writes one row per sent
cohort (A, and B) with its retry key fixed. Then, per row, each step its own transaction and every LINE call between
them (bot/campaign_runner.py): coupons are issued to its members in batches (once per member and campaign: the source
key), its LINE user IDs are uploaded 10,000 at a time (`uploaded` counts them), and one narrowcast is sent with the
row's retry key; its request id is recorded, and the minute job asks LINE for its progress until it succeeded or failed.

A member whose coupon could not be issued (sold out, at their limit) is left out of the upload: a narrowcast is the
same message for everyone, and it would announce a coupon they do not have.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from bot.services.marketing import campaign_start
from bot.services.marketing.campaign_messages import Personal, render
from bot.services.marketing.campaigns import NARROWCAST_MIN, SENT_COHORTS, TOO_SMALL
from models import Campaign, CampaignNarrowcast, CampaignRecipient, CouponTemplate, LineUser, Member

# User IDs a single audience upload (or addition) takes.
UPLOAD_MAX = 10_000
COUPONS_PER_STEP = 1_000
VARIANT_TOO_SMALL = "LINE 的受眾至少要 50 人，{variant} 版目前只有 {n} 人，請調整比例或改用一般發送"
FINISHED_PHASES = ("succeeded", "failed")
_KEYS = uuid.UUID("6f1c2a9e-3b4d-4c5e-8f70-9a1b2c3d4e5f")


def narrowcast_retry_key(campaign_id: int, cohort: str) -> str:
    """The X-Line-Retry-Key of a campaign variant's narrowcast: the same on every attempt."""
    return str(uuid.uuid5(_KEYS, f"campaign:{campaign_id}:narrowcast:{cohort}"))


def is_narrowcast(session: Session, campaign_id: int) -> bool:
    """Whether the campaign goes out by narrowcast."""
    return session.scalar(select(Campaign.delivery).where(Campaign.id == campaign_id)) == "narrowcast"


def too_small(reach: int) -> str | None:
    """The zh-TW refusal for a narrowcast to `reach` members, or None when LINE would take it."""
    return TOO_SMALL.format(n=f"{reach:,}") if reach < NARROWCAST_MIN else None


def plan_narrowcasts(session: Session, campaign_id: int, now: datetime) -> str | None:
    """For a started narrowcast campaign whose audience is sealed: write one row per sent cohort (once), or refuse
    the start when the audience, or a variant's share of it, is under 50: the campaign is marked `refused` with the
    reason (returned) and nothing is sent. The campaign row is locked first, so two workers plan it once."""
    if campaign_start.lock_for_preparation(session, campaign_id, now, Campaign.delivery == "narrowcast") is None:
        return None
    if session.scalar(select(func.count()).where(CampaignNarrowcast.campaign_id == campaign_id)):
        return None
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    counts = {
        str(cohort): int(n)
        for cohort, n in session.execute(
            select(CampaignRecipient.cohort, func.count())
            .where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.cohort.in_(SENT_COHORTS))
            .group_by(CampaignRecipient.cohort)
        )
    }
    reason = too_small(sum(counts.values()))
    if reason is None and len(campaign.variants) == 2:
        for cohort in SENT_COHORTS:
            if counts.get(cohort, 0) < NARROWCAST_MIN:
                reason = VARIANT_TOO_SMALL.format(variant=cohort, n=f"{counts.get(cohort, 0):,}")
                break
    if reason is not None:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(status="refused", refused_reason=reason, prepared_at=now, progress_at=now)
        )
        return reason
    for cohort in SENT_COHORTS:
        if counts.get(cohort):
            session.add(
                CampaignNarrowcast(
                    campaign_id=campaign_id,
                    cohort=cohort,
                    retry_key=narrowcast_retry_key(campaign_id, cohort),
                    recipients=counts[cohort],
                    created_at=now,
                )
            )
    session.flush()
    return None


def narrowcast_ids(session: Session, campaign_id: int) -> list[int]:
    """The campaign's narrowcast rows (A first)."""
    return list(
        session.scalars(
            select(CampaignNarrowcast.id)
            .where(CampaignNarrowcast.campaign_id == campaign_id)
            .order_by(CampaignNarrowcast.cohort)
        )
    )


def issue_coupons_step(session: Session, narrowcast_id: int, now: datetime, limit: int = COUPONS_PER_STEP) -> bool:
    """Give the next `limit` members of the row's cohort their coupon (once per member and campaign); False when
    every member has been given one (or the campaign has no coupon)."""
    row = session.get(CampaignNarrowcast, narrowcast_id, with_for_update=True)
    assert row is not None
    campaign = session.get(Campaign, row.campaign_id)
    assert campaign is not None
    template = session.get(CouponTemplate, campaign.coupon_template_id) if campaign.coupon_template_id else None
    if template is None:
        return False
    recipients = session.execute(
        select(CampaignRecipient.id, CampaignRecipient.member_id)
        .where(
            CampaignRecipient.campaign_id == row.campaign_id,
            CampaignRecipient.cohort == row.cohort,
            CampaignRecipient.member_id > row.coupons_up_to,
        )
        .order_by(CampaignRecipient.member_id)
        .limit(limit)
    ).all()
    if not recipients:
        return False
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_([r[1] for r in recipients])))}
    for recipient_id, member_id in recipients:
        coupon = campaign_start.issue_campaign_coupon(session, members[member_id], template, row.campaign_id, now)
        if coupon is None:
            continue  # left out of the audience (see the module's docstring)
        session.execute(
            update(CampaignRecipient).where(CampaignRecipient.id == recipient_id).values(coupon_id=coupon.id)
        )
    row.coupons_up_to = int(recipients[-1][1])
    session.execute(update(Campaign).where(Campaign.id == row.campaign_id).values(progress_at=now))
    return True


def _audience(session: Session, row: CampaignNarrowcast, with_coupon: bool) -> Select[str]:
    query = (
        select(LineUser.line_user_id)
        .join(Member, Member.line_user_id == LineUser.id)
        .join(CampaignRecipient, CampaignRecipient.member_id == Member.id)
        .where(CampaignRecipient.campaign_id == row.campaign_id, CampaignRecipient.cohort == row.cohort)
    )
    if with_coupon:
        query = query.where(CampaignRecipient.coupon_id.is_not(None))
    return query


@dataclass(frozen=True)
class Upload:
    """The next user IDs of a row's audience to upload: a new audience when `audience_group_id` is None."""

    narrowcast_id: int
    audience_group_id: int | None
    description: str
    offset: int
    user_ids: list[str]


def next_upload(session: Session, narrowcast_id: int) -> Upload | None:
    """The next (at most 10,000) LINE user IDs of the row's audience, in member order; None when all are uploaded."""
    row = session.get(CampaignNarrowcast, narrowcast_id)
    assert row is not None
    campaign = session.get(Campaign, row.campaign_id)
    assert campaign is not None
    query = _audience(session, row, campaign.coupon_template_id is not None)
    user_ids = list(session.scalars(query.order_by(CampaignRecipient.member_id).offset(row.uploaded).limit(UPLOAD_MAX)))
    # With nobody left (every coupon refused) an empty audience is still made: LINE then fails the narrowcast.
    if not user_ids and row.audience_group_id is not None:
        return None
    description = f"omo campaign {row.campaign_id} {row.cohort} {row.retry_key[:8]}"
    return Upload(row.id, row.audience_group_id, description, row.uploaded, user_ids)


def record_upload(session: Session, upload: Upload, audience_group_id: int, now: datetime) -> None:
    """Record that LINE took `upload` (into `audience_group_id`); a step already recorded is left as it is."""
    session.execute(
        update(CampaignNarrowcast)
        .where(CampaignNarrowcast.id == upload.narrowcast_id, CampaignNarrowcast.uploaded == upload.offset)
        .values(audience_group_id=audience_group_id, uploaded=upload.offset + len(upload.user_ids))
    )
    campaign_id = session.scalar(
        select(CampaignNarrowcast.campaign_id).where(CampaignNarrowcast.id == upload.narrowcast_id)
    )
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(progress_at=now))


@dataclass(frozen=True)
class Send:
    """A row's narrowcast, ready to send once its audience is uploaded."""

    narrowcast_id: int
    audience_group_id: int
    retry_key: str
    messages: list[dict[str, Any]]


def narrowcast_due(session: Session, narrowcast_id: int) -> Send | None:
    """The row's narrowcast when its audience is uploaded and it has no request id yet; None otherwise."""
    row = session.get(CampaignNarrowcast, narrowcast_id)
    assert row is not None
    if row.request_id is not None or row.audience_group_id is None or next_upload(session, narrowcast_id) is not None:
        return None
    campaign = session.get(Campaign, row.campaign_id)
    assert campaign is not None
    template = session.get(CouponTemplate, campaign.coupon_template_id) if campaign.coupon_template_id else None
    spec = campaign.variants[1 if row.cohort == "B" else 0]
    # Not personal (refused when composed): the same words for everyone.
    messages = render(spec, Personal("", 0), template)
    return Send(row.id, row.audience_group_id, row.retry_key, messages)


def record_narrowcast(session: Session, narrowcast_id: int, request_id: str, now: datetime) -> None:
    """Record the request id LINE gave the row's narrowcast, and mark the campaign prepared once every row has one."""
    session.execute(
        update(CampaignNarrowcast)
        .where(CampaignNarrowcast.id == narrowcast_id, CampaignNarrowcast.request_id.is_(None))
        .values(request_id=request_id, phase="waiting", checked_at=now)
    )
    campaign_id = session.scalar(select(CampaignNarrowcast.campaign_id).where(CampaignNarrowcast.id == narrowcast_id))
    unsent = session.scalar(
        select(func.count()).where(
            CampaignNarrowcast.campaign_id == campaign_id, CampaignNarrowcast.request_id.is_(None)
        )
    )
    values: dict[str, Any] = {"progress_at": now}
    if not unsent:
        values["prepared_at"] = now
    session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.prepared_at.is_(None)).values(**values))


def unfinished(session: Session) -> list[tuple[int, str]]:
    """Narrowcasts sent whose progress is not yet final: (row id, request id), oldest first."""
    return [
        (int(row_id), str(request_id))
        for row_id, request_id in session.execute(
            select(CampaignNarrowcast.id, CampaignNarrowcast.request_id)
            .where(
                CampaignNarrowcast.request_id.is_not(None),
                CampaignNarrowcast.phase.is_(None) | CampaignNarrowcast.phase.not_in(FINISHED_PHASES),
            )
            .order_by(CampaignNarrowcast.id)
        )
    ]


def _count(answer: dict[str, Any], key: str) -> int | None:
    value = answer.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_progress(session: Session, narrowcast_id: int, answer: dict[str, Any], now: datetime) -> None:
    """Record what LINE said of a narrowcast's progress (an unknown phase is left as it was)."""
    phase = answer.get("phase")
    if phase not in ("waiting", "sending", "succeeded", "failed"):
        return
    description = answer.get("failedDescription")
    session.execute(
        update(CampaignNarrowcast)
        .where(CampaignNarrowcast.id == narrowcast_id)
        .values(
            phase=phase,
            success_count=_count(answer, "successCount"),
            failure_count=_count(answer, "failureCount"),
            target_count=_count(answer, "targetCount"),
            error_code=_count(answer, "errorCode"),
            failed_description=str(description)[:500] if description else None,
            checked_at=now,
        )
    )


def narrowcasts(session: Session, campaign_id: int) -> list[CampaignNarrowcast]:
    """The campaign's narrowcast rows, for its page."""
    return list(
        session.scalars(
            select(CampaignNarrowcast)
            .where(CampaignNarrowcast.campaign_id == campaign_id)
            .order_by(CampaignNarrowcast.cohort)
        )
    )


def shown_status(rows: list[CampaignNarrowcast]) -> str:
    """A started narrowcast campaign as the pages show it: failed when any variant failed, done when every variant
    succeeded, otherwise sending."""
    if any(row.phase == "failed" for row in rows):
        return "failed"
    if rows and all(row.phase == "succeeded" for row in rows):
        return "done"
    return "sending"
