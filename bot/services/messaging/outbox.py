"""The outbox: messages are written in the transaction that caused them and sent to LINE after it commits
(bot/delivery.py sends them)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from models import LineUser, OutboundMessage

log = logging.getLogger(__name__)

# LINE keeps a reply token for about a minute; past this age a reply goes out as a push instead.
REPLY_TOKEN_USABLE_FOR = timedelta(seconds=50)
# A message claimed by a sender that then died is sent again (same retry key) after this long.
CLAIM_TIMEOUT = timedelta(minutes=2)
# LINE takes at most this many messages in one reply or push.
MAX_MESSAGES_PER_REQUEST = 5
# Namespace of the retry keys of messages said once per key (reminders).
_ONCE_KEYS = uuid.UUID("6f1d2c4e-8f0a-4c57-9a53-2f8e0c1b7d11")


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
    """Queue the answer to an event: the first 5 messages as a reply, any more as pushes after it. The rows are
    added to the session, written at its next flush (hand them to the unit of work's send_after_commit)."""
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
            status="pending",
            attempts=0,
        )
    ]
    rows += [_push_row([line_user_id], chunk, webhook_event_id) for chunk in chunks[1:]]
    session.add_all(rows)
    return rows


def queue_push(
    session: Session, line_user_id: str, messages: list[dict[str, Any]], webhook_event_id: int | None = None
) -> list[OutboundMessage]:
    """Queue a push to one user (5 messages a request); a user who blocked the bot gets nothing. The rows are added
    to the session, written at its next flush."""
    blocked = session.scalar(select(LineUser.is_blocked).where(LineUser.line_user_id == line_user_id))
    if blocked:
        return []
    rows = [_push_row([line_user_id], chunk, webhook_event_id) for chunk in _chunks(messages)]
    session.add_all(rows)
    return rows


def queue_push_once(session: Session, line_user_id: str, messages: list[dict[str, Any]], key: str) -> int | None:
    """Queue a push (at most 5 messages) that is said once per `key`, however often it is asked for: its retry key
    is derived from `key`, and a second row with it is not written. The new row's id, or None."""
    retry_key = str(uuid.uuid5(_ONCE_KEYS, key))
    row = {
        "kind": "push",
        "recipients": [line_user_id],
        "messages": messages[:MAX_MESSAGES_PER_REQUEST],
        "retry_key": retry_key,
    }
    (outbound_id,) = insert_ignoring_conflicts(session, OutboundMessage.__table__, [row])
    return outbound_id


def _push_row(to: list[str], messages: list[dict[str, Any]], webhook_event_id: int | None) -> OutboundMessage:
    kind = "push" if len(to) == 1 else "multicast"
    return OutboundMessage(
        kind=kind,
        recipients=to,
        messages=messages,
        retry_key=str(uuid.uuid4()),
        webhook_event_id=webhook_event_id,
        status="pending",
        attempts=0,
    )


def due_for_delivery(session: Session, now: datetime, older_than: timedelta) -> list[int]:
    """Messages that should have gone out by now: never sent, waiting for a next attempt whose time has come, or
    claimed by a sender that died. Newest first: under a backlog the answers whose reply tokens are still fresh go
    before those that will be pushes anyway."""
    cutoff = now - older_than
    pending = OutboundMessage.status == "pending"
    return list(
        session.scalars(
            select(OutboundMessage.id)
            .where(
                (pending & OutboundMessage.next_attempt_at.is_(None) & (OutboundMessage.created_at < cutoff))
                | (pending & (OutboundMessage.next_attempt_at <= now))
                | ((OutboundMessage.status == "sending") & (OutboundMessage.sent_at < now - CLAIM_TIMEOUT))
            )
            .order_by(OutboundMessage.id.desc())
            .limit(500)
        )
    )
