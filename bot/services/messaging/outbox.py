"""The outbox: messages are written in the transaction that caused them and sent to LINE after it commits."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.line_client import MAX_MESSAGES_PER_REQUEST, RETRYABLE_STATUSES, LineClient, LineDeliveryError
from models import LineUser, OutboundMessage

log = logging.getLogger(__name__)

# LINE keeps a reply token for about a minute; past this age a reply goes out as a push instead.
REPLY_TOKEN_USABLE_FOR = timedelta(seconds=50)
# A message claimed by a sender that then died is sent again (same retry key) after this long.
CLAIM_TIMEOUT = timedelta(minutes=2)
MAX_ATTEMPTS = 8


def _chunks(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    step = MAX_MESSAGES_PER_REQUEST
    return [messages[i : i + step] for i in range(0, len(messages), step)]


def queue_reply(
    session: Session,
    *,
    reply_token: str,
    line_user_id: str,
    event_time: datetime,
    messages: list[dict[str, Any]],
    webhook_event_id: int | None = None,
) -> list[OutboundMessage]:
    """Queue the answer to an event: the first 5 messages as a reply, any more as pushes after it."""
    chunks = _chunks(messages)
    if not chunks:
        return []
    rows = [
        OutboundMessage(
            kind="reply",
            recipients=[line_user_id],
            reply_token=reply_token,
            reply_token_expires_at=event_time + REPLY_TOKEN_USABLE_FOR,
            messages=chunks[0],
            retry_key=str(uuid.uuid4()),
            webhook_event_id=webhook_event_id,
        )
    ]
    rows += [_push_row([line_user_id], chunk, webhook_event_id) for chunk in chunks[1:]]
    session.add_all(rows)
    session.flush()
    return rows


def queue_push(
    session: Session, line_user_id: str, messages: list[dict[str, Any]], webhook_event_id: int | None = None
) -> list[OutboundMessage]:
    """Queue a push to one user (5 messages a request); a user who blocked the bot gets nothing."""
    blocked = session.scalar(select(LineUser.is_blocked).where(LineUser.line_user_id == line_user_id))
    if blocked:
        return []
    rows = [_push_row([line_user_id], chunk, webhook_event_id) for chunk in _chunks(messages)]
    session.add_all(rows)
    session.flush()
    return rows


def _push_row(to: list[str], messages: list[dict[str, Any]], webhook_event_id: int | None) -> OutboundMessage:
    kind = "push" if len(to) == 1 else "multicast"
    return OutboundMessage(
        kind=kind,
        recipients=to,
        messages=messages,
        retry_key=str(uuid.uuid4()),
        webhook_event_id=webhook_event_id,
    )


def _claim(sessions: sessionmaker[Session], outbound_id: int, now: datetime) -> OutboundMessage | None:
    """Mark a message as being sent so that only one sender sends it; a stale claim may be taken over."""
    with transaction(sessions) as session:
        claimed = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == outbound_id,
                (OutboundMessage.status == "pending")
                | ((OutboundMessage.status == "sending") & (OutboundMessage.sent_at < now - CLAIM_TIMEOUT)),
            )
            .values(status="sending", sent_at=now, attempts=OutboundMessage.attempts + 1)
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return None
        message = session.get(OutboundMessage, outbound_id)
        if message is not None:
            session.expunge(message)
        return message


def _unblocked(session: Session, recipients: list[str]) -> list[str]:
    blocked = set(
        session.scalars(select(LineUser.line_user_id).where(LineUser.line_user_id.in_(recipients), LineUser.is_blocked))
    )
    return [user_id for user_id in recipients if user_id not in blocked]


def _send(line: LineClient, message: OutboundMessage, recipients: list[str], now: datetime) -> str:
    """Send one outbox message; returns how it went out."""
    if message.kind == "reply" and message.reply_token:
        expires = message.reply_token_expires_at
        if expires is not None and now < expires:
            try:
                line.reply(message.reply_token, message.messages)
                return "reply"
            except LineDeliveryError as exc:
                if exc.status != 400:
                    raise
                log.info("reply token refused, falling back to push: %s", exc.body)
    if message.kind == "broadcast":
        line.broadcast(message.messages, message.retry_key)
        return "broadcast"
    if len(recipients) == 1:
        line.push(recipients[0], message.messages, message.retry_key)
        return "push"
    line.multicast(recipients, message.messages, message.retry_key)
    return "multicast"


def deliver(sessions: sessionmaker[Session], line: LineClient, outbound_id: int, now: datetime) -> str:
    """Send one outbox message to LINE once; returns its status (sent, dropped, pending, failed or skipped)."""
    message = _claim(sessions, outbound_id, now)
    if message is None:
        return "skipped"
    with sessions() as session:
        recipients = _unblocked(session, message.recipients) if message.kind != "broadcast" else []
    status, via, error = "sent", None, None
    if message.kind != "broadcast" and not recipients:
        status = "dropped"
    else:
        try:
            via = _send(line, message, recipients, now)
        except LineDeliveryError as exc:
            transient = exc.status in RETRYABLE_STATUSES or exc.status == 0
            status = "pending" if transient and message.attempts < MAX_ATTEMPTS else "failed"
            error = str(exc)[:2000]
            log.warning("outbox message %s not delivered (%s): %s", outbound_id, status, exc)
    with transaction(sessions) as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == outbound_id)
            .values(status=status, delivered_via=via, error=error, sent_at=now)
        )
    return status


def due_for_delivery(session: Session, now: datetime, older_than: timedelta) -> list[int]:
    """Messages that should have gone out by now: never sent, or claimed by a sender that died."""
    cutoff = now - older_than
    return list(
        session.scalars(
            select(OutboundMessage.id)
            .where(
                ((OutboundMessage.status == "pending") & (OutboundMessage.created_at < cutoff))
                | ((OutboundMessage.status == "sending") & (OutboundMessage.sent_at < now - CLAIM_TIMEOUT))
            )
            .order_by(OutboundMessage.id)
            .limit(500)
        )
    )
