"""Runs a campaign's start (bot/services/marketing/campaign_start.py) step by step, one unit of work a step, so no
transaction holds the database for long however large the audience; a run killed at any point is resumed by the next
(`resume`), which continues where the last committed step stopped.

The outbox rows are queued for delivery when the campaign is prepared (every chunk written): they then go out at
LINE's multicast rate (the LINE client paces them), and the outbox sweep sends any a dead worker left behind.

A narrowcast campaign (campaign_narrowcast.py) goes on differently once its audience is sealed: per variant, coupons
in batches, its audience uploaded 10,000 IDs a call, then one narrowcast with the variant's retry key; each LINE call
is made between two units of work (never inside one), and its result recorded in the next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.runtime import Runtime
from bot.services.marketing import campaign_narrowcast, campaign_start
from bot.services.marketing.campaigns import Audience
from bot.services.marketing.segments import audience_for_marketing
from bot.uow import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """What a run did: the campaign's recipients, the outbox rows it wrote and the rows it queued for delivery."""

    campaign_id: int
    recipients: int
    written: list[int]
    queued: list[int]


def start(runtime: Runtime, campaign_id: int, audience: Audience = audience_for_marketing) -> Started | None:
    """Claim a due campaign and prepare it; None when it is not due, already started or cancelled. Its audience is
    resolved first: a segment that cannot be evaluated leaves it scheduled (tried again next minute)."""
    rows = _audience(runtime, campaign_id, audience)
    with unit_of_work(runtime) as uow:
        if not campaign_start.claim_campaign(uow.session, campaign_id, uow.now, uow.settings.tz):
            return None
    return _prepare(runtime, campaign_id, rows)


def resume(runtime: Runtime, campaign_id: int, audience: Audience = audience_for_marketing) -> Started:
    """Prepare a started campaign from where its last committed step stopped: its audience (unless written), then
    its outbox chunks, a batch of members a transaction; queue its unsent chunks once every chunk is written."""
    return _prepare(runtime, campaign_id, _audience(runtime, campaign_id, audience))


def _audience(runtime: Runtime, campaign_id: int, audience: Audience) -> list[tuple[int, str]]:
    settings = runtime.settings
    with runtime.sessions() as session:
        return campaign_start.resolve_audience(
            session, campaign_id, runtime.clock.now(), settings.tz, audience, settings.marketing_pushes_per_week
        )


def _prepare(runtime: Runtime, campaign_id: int, rows: list[tuple[int, str]]) -> Started:
    for start_at in range(0, len(rows), campaign_start.RECIPIENTS_PER_STEP):
        with unit_of_work(runtime) as uow:
            batch = rows[start_at : start_at + campaign_start.RECIPIENTS_PER_STEP]
            campaign_start.write_recipients(uow.session, campaign_id, batch, uow.now)
    with unit_of_work(runtime) as uow:
        recipients = campaign_start.seal_audience(uow.session, campaign_id, uow.now)
        narrowcast = campaign_narrowcast.is_narrowcast(uow.session, campaign_id)
    if narrowcast:
        _narrowcast(runtime, campaign_id)
        return Started(campaign_id, recipients, [], [])
    written: list[int] = []
    queued: list[int] = []
    while True:
        with unit_of_work(runtime) as uow:
            step = campaign_start.write_next_chunks(uow.session, campaign_id, uow.now)
            written += step.outbox_ids
            if step.prepared:
                queued = campaign_start.undelivered_chunks(uow.session, campaign_id)
                uow.send_after_commit(queued)
        if step.prepared or not step.members:
            break
    log.info(
        "campaign %s: %d recipients, %d outbox rows written, %d queued",
        campaign_id,
        recipients,
        len(written),
        len(queued),
    )
    return Started(campaign_id, recipients, written, queued)


def _narrowcast(runtime: Runtime, campaign_id: int) -> None:
    with unit_of_work(runtime) as uow:
        refused = campaign_narrowcast.plan_narrowcasts(uow.session, campaign_id, uow.now)
        row_ids = campaign_narrowcast.narrowcast_ids(uow.session, campaign_id)
    if refused is not None:
        log.warning("campaign %s refused: %s", campaign_id, refused)
        return
    for row_id in row_ids:
        while True:
            with unit_of_work(runtime) as uow:
                if not campaign_narrowcast.issue_coupons_step(uow.session, row_id, uow.now):
                    break
        while True:
            with runtime.sessions() as session:
                upload = campaign_narrowcast.next_upload(session, row_id)
            if upload is None:
                break
            if upload.audience_group_id is None:
                group_id = runtime.line.create_audience(upload.description, upload.user_ids)
            else:
                group_id = upload.audience_group_id
                runtime.line.add_to_audience(group_id, upload.user_ids)
            with unit_of_work(runtime) as uow:
                campaign_narrowcast.record_upload(uow.session, upload, group_id, uow.now)
        with runtime.sessions() as session:
            send = campaign_narrowcast.narrowcast_due(session, row_id)
        if send is None:
            continue
        if runtime.line.audience(send.audience_group_id).get("status") != "READY":
            log.info("campaign %s: audience %s not ready yet", campaign_id, send.audience_group_id)
            return  # LINE is still taking it in: the minute job resumes the campaign
        request_id = runtime.line.narrowcast(send.messages, send.audience_group_id, send.retry_key)
        with unit_of_work(runtime) as uow:
            campaign_narrowcast.record_narrowcast(uow.session, row_id, request_id, uow.now)
    poll_narrowcasts(runtime)


def poll_narrowcasts(runtime: Runtime) -> int:
    """Ask LINE how each unfinished narrowcast is going and record it; the number asked."""
    with runtime.sessions() as session:
        pending = campaign_narrowcast.unfinished(session)
    for row_id, request_id in pending:
        answer = runtime.line.narrowcast_progress(request_id)
        with unit_of_work(runtime) as uow:
            campaign_narrowcast.record_progress(uow.session, row_id, answer, uow.now)
    return len(pending)
