"""Delivery: the only code that sends to LINE. It runs after the commit, outside any database transaction.

An outbox message is claimed (so one sender sends it), sent with its stored retry key, and its outcome recorded, each
step in its own short transaction; the LINE call happens between them. Rich menus are linked the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.line_client import RETRYABLE_STATUSES, LineClient, LineDeliveryError
from bot.services.membership.line_users import find_line_user
from bot.services.membership.menu_state import wanted_menu
from bot.services.messaging.outbox import CLAIM_TIMEOUT
from models import LineUser, OutboundMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


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
    return _send_and_record(sessions, line, message, recipients, now)


def deliver_claimed(sessions: sessionmaker[Session], line: LineClient, message: OutboundMessage, now: datetime) -> str:
    """Send a message its unit of work claimed for this sender (the answer to an event, written and claimed in the
    event's transaction, to a user the bot just heard from); returns its status like `deliver`."""
    return _send_and_record(sessions, line, message, list(message.recipients), now)


def _send_and_record(
    sessions: sessionmaker[Session], line: LineClient, message: OutboundMessage, recipients: list[str], now: datetime
) -> str:
    outbound_id = message.id
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


def apply_rich_menu(sessions: sessionmaker[Session], line: LineClient, line_user_id: str) -> bool:
    """Link or unlink the user's rich menu if it differs from what their state asks for; True if LINE was called."""
    with sessions() as session:
        user = find_line_user(session, line_user_id)
        if user is None or user.is_blocked:
            return False
        wanted = wanted_menu(session, user)
        if wanted == user.applied_rich_menu_id:
            return False
    try:
        if wanted is None:
            line.unlink_rich_menu(line_user_id)
        else:
            line.link_rich_menu(line_user_id, wanted)
    except LineDeliveryError as exc:  # the sweeper tries again; a menu is never worth failing an event for
        log.warning("rich menu of %s not applied: %s", line_user_id, exc)
        return False
    with transaction(sessions) as session:
        user = find_line_user(session, line_user_id)
        if user is not None:
            user.applied_rich_menu_id = wanted
    return True
