"""Task-queue jobs. The worker process runs them: `huey_consumer bot.tasks.huey`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from huey import crontab
from sqlalchemy import select

from bot.event_processing import event_user, process_event
from bot.queue import huey
from bot.runtime import get_runtime
from bot.services import menu_state, outbox
from models import WebhookEvent

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=60)


@huey.task(retries=3, retry_delay=5)
def process_webhook_event(inbox_id: int) -> None:
    """Handle a stored webhook event, then send its replies at once (reply tokens are short-lived)."""
    runtime = get_runtime()
    for outbound_id in process_event(runtime, inbox_id):
        outbox.deliver(runtime.sessions, runtime.line, outbound_id, datetime.now(UTC))
    line_user_id = event_user(runtime, inbox_id)
    if line_user_id:
        menu_state.apply_rich_menu(runtime.sessions, runtime.line, line_user_id)


@huey.task()
def apply_rich_menu(line_user_id: str) -> None:
    """Link the rich menu the user's state asks for."""
    runtime = get_runtime()
    menu_state.apply_rich_menu(runtime.sessions, runtime.line, line_user_id)


@huey.task()
def deliver_message(outbound_id: int) -> None:
    """Send one outbox message."""
    runtime = get_runtime()
    outbox.deliver(runtime.sessions, runtime.line, outbound_id, datetime.now(UTC))


@huey.periodic_task(crontab(minute="*"))
def sweep_stalled_work() -> None:
    """Nothing recorded is lost: events and messages left behind by a crash or a failed enqueue run again."""
    runtime = get_runtime()
    now = datetime.now(UTC)
    with runtime.sessions() as session:
        stalled_events = list(
            session.scalars(
                select(WebhookEvent.id)
                .where(WebhookEvent.status == "pending", WebhookEvent.created_at < now - STALE_AFTER)
                .order_by(WebhookEvent.id)
                .limit(500)
            )
        )
        stalled_messages = outbox.due_for_delivery(session, now, STALE_AFTER)
        menus_to_fix = menu_state.users_needing_menu_change(session)
    for inbox_id in stalled_events:
        process_webhook_event(inbox_id)
    for outbound_id in stalled_messages:
        deliver_message(outbound_id)
    for line_user_id in menus_to_fix:
        apply_rich_menu(line_user_id)
    if stalled_events or stalled_messages:
        log.info("re-queued %d events and %d messages", len(stalled_events), len(stalled_messages))
