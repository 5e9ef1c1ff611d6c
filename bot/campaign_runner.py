"""Runs a campaign's start (bot/services/marketing/campaign_start.py) step by step, one unit of work a step, so no
transaction holds the database for long however large the audience; a run killed at any point is resumed by the next
(`resume`), which continues where the last committed step stopped.

The outbox rows are queued for delivery when the campaign is prepared (every chunk written): they then go out at
LINE's multicast rate (the LINE client paces them), and the outbox sweep sends any a dead worker left behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.runtime import Runtime
from bot.services.marketing import campaign_start
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
