"""The worker's side of the webhook: run one stored event's handler in one transaction, then send its replies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from linebot.v3.webhooks import Event
from sqlalchemy import select

from bot.db import transaction
from bot.i18n import language_for
from bot.runtime import Runtime
from bot.services.membership.line_users import find_line_user
from bot.services.messaging import outbox
from handlers import HandlerContext, handle
from models import WebhookEvent

log = logging.getLogger(__name__)

MAX_EVENT_ATTEMPTS = 5


def process_event(runtime: Runtime, inbox_id: int, now: datetime | None = None) -> list[int]:
    """Handle one inbox event exactly once; returns the outbox ids its replies were queued as."""
    now = now or datetime.now(UTC)
    try:
        with transaction(runtime.sessions) as session:
            row = session.scalars(
                select(WebhookEvent).where(WebhookEvent.id == inbox_id).with_for_update()
            ).one_or_none()
            if row is None or row.status != "pending":
                return []
            row.attempts += 1
            row.processed_at = now
            if row.mode != "active":
                # In standby another channel answers this chat: record the event, send nothing.
                row.status = "skipped"
                return []
            event = Event.from_dict(row.payload)
            line_user = find_line_user(session, row.line_user_id) if row.line_user_id else None
            ctx = HandlerContext(
                session=session,
                settings=runtime.settings,
                line=runtime.line,
                line_user=line_user,
                language=language_for(line_user.language if line_user else None),
            )
            replies = handle(ctx, event)
            row.status = "done"
            reply_token = getattr(event, "reply_token", None)
            if not replies or not row.line_user_id:
                return []
            payloads = [reply.to_dict() for reply in replies]
            if reply_token:
                queued = outbox.queue_reply(
                    session,
                    reply_token=reply_token,
                    line_user_id=row.line_user_id,
                    event_time=row.occurred_at,
                    messages=payloads,
                    webhook_event_id=row.id,
                )
            else:
                queued = outbox.queue_push(session, row.line_user_id, payloads, webhook_event_id=row.id)
            return [message.id for message in queued]
    except Exception as exc:
        _record_failure(runtime, inbox_id, exc)
        raise


def _record_failure(runtime: Runtime, inbox_id: int, exc: Exception) -> None:
    log.exception("webhook event %s failed", inbox_id)
    with transaction(runtime.sessions) as session:
        row = session.get(WebhookEvent, inbox_id)
        if row is None:
            return
        row.attempts += 1
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_EVENT_ATTEMPTS:
            row.status = "failed"


def event_user(runtime: Runtime, inbox_id: int) -> str | None:
    """The LINE user id an inbox event came from."""
    with runtime.sessions() as session:
        return session.scalar(select(WebhookEvent.line_user_id).where(WebhookEvent.id == inbox_id))
