"""Delivery: the only code that sends to LINE. It runs after the commit, outside any database transaction.

An outbox message is claimed (so one sender sends it), sent with its stored retry key, and its outcome recorded, each
step in its own short transaction; the LINE call happens between them. Rich menus are linked the same way.

Exactly once where LINE can tell us, at most once where it cannot: a push, multicast or broadcast carries the retry key
stored with its row on every attempt (LINE answers 409 to a repeat: delivered), so it is retried while LINE fails,
with backoff, for up to DELIVERY_GIVE_UP_AFTER. A reply is one request per attempt, and a reply whose outcome is
unknown (a timeout, a connection dropped after sending, its sender dying mid-send, its token refused after an earlier
attempt) is recorded `unknown` and never sent again, as a reply or as a push.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, func, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.line_client import LineClient, LineDeliveryError
from bot.services.membership.line_users import find_line_user
from bot.services.membership.menu_state import wanted_menu
from bot.services.messaging.outbox import CLAIM_TIMEOUT
from bot.settings import Settings
from models import LineUser, OutboundMessage

log = logging.getLogger(__name__)

# Waits between attempts while LINE fails: doubling from FIRST_RETRY_AFTER up to LONGEST_WAIT, each with jitter so
# that the messages of one outage do not all come back at the same second.
FIRST_RETRY_AFTER = timedelta(seconds=10)
LONGEST_WAIT = timedelta(minutes=10)
_jitter = random.Random()


@dataclass(frozen=True)
class DeliveryPolicy:
    """How long a message is retried while LINE fails, and whether a stale reply may become a push."""

    give_up_after: timedelta = timedelta(hours=24)
    fallback_to_push: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            give_up_after=timedelta(seconds=settings.delivery_give_up_after_seconds),
            fallback_to_push=settings.reply_fallback_to_push,
        )


class _OutcomeUnknown(Exception):
    """A reply may have reached the user (LINE cannot tell us): it is not sent again in any form."""


class _PushNotAllowed(Exception):
    """The reply token can no longer be used and the brand does not allow pushes in its place."""


def retry_delay(attempts: int, rand: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: about FIRST_RETRY_AFTER * 2**(attempts-1), at most LONGEST_WAIT, each wait
    between half and all of it."""
    ceiling = min(LONGEST_WAIT, FIRST_RETRY_AFTER * (1 << min(max(attempts - 1, 0), 20)))
    share: float = (rand or _jitter).random()
    return ceiling * (0.5 + 0.5 * share)


_outbox: Table = OutboundMessage.__table__  # type: ignore[assignment]
_o = _outbox.c
# A reply whose sender stopped after it may have sent it: its outcome is unknown, so it is never taken over.
_REPLY_IN_DOUBT = (_o.kind == "reply") & _o.reply_token.is_not(None) & (_o.reply_token_expires_at > _o.sent_at)
# Built once: a delivery runs these for every message, and building and evaluating the expressions cost more than
# running them (the ORM's synchronisation of UPDATEs is not needed: nothing here is held in a session).
_CLAIM = (
    update(_outbox)
    .where(
        _o.id == bindparam("outbound_id"),
        (
            (_o.status == "pending")
            & (_o.next_attempt_at.is_(None) | (_o.next_attempt_at <= bindparam("now", type_=_o.sent_at.type)))
        )
        | ((_o.status == "sending") & (_o.sent_at < bindparam("stale")) & ~func.coalesce(_REPLY_IN_DOUBT, False)),
    )
    .values(status="sending", sent_at=bindparam("now"), attempts=_o.attempts + 1)
    .returning(*_o)
)
_GIVE_UP_REPLY = (
    update(_outbox)
    .where(_o.id == bindparam("outbound_id"), _o.status == "sending", _o.sent_at < bindparam("stale"), _REPLY_IN_DOUBT)
    .values(status="unknown", error="its sender stopped while sending the reply")
)
_RECORD = (
    update(_outbox)
    .where(_o.id == bindparam("outbound_id"))
    .values(
        status=bindparam("status"),
        delivered_via=bindparam("via"),
        error=bindparam("error"),
        sent_at=bindparam("sent"),
        attempts=bindparam("tries"),
        next_attempt_at=bindparam("next_attempt"),
    )
)


def _claim(connection: Connection, outbound_id: int, now: datetime) -> OutboundMessage | None:
    """Mark a message as being sent so that only one sender sends it (a detached copy of it, or None); a stale claim
    may be taken over, except a reply's: its sender died while it may have been sending the reply, so its outcome is
    unknown and it is not sent again (a push in its place could be the second answer)."""
    stale = now - CLAIM_TIMEOUT
    row = connection.execute(_CLAIM, {"outbound_id": outbound_id, "now": now, "stale": stale}).one_or_none()
    if row is not None:
        return OutboundMessage(**row._asdict())
    if connection.execute(_GIVE_UP_REPLY, {"outbound_id": outbound_id, "stale": stale}).rowcount:
        log.warning("outbox message %s: reply outcome unknown (its sender stopped), not sent again", outbound_id)
    return None


def _blocked_statement(elements: Any) -> Any:
    # A function in FROM may read the tables before it (both databases): one row per recipient.
    listed = elements(_o.recipients).table_valued("value").alias("listed")
    return (
        select(LineUser.line_user_id)
        .select_from(_outbox.join(listed, true()))
        .join(LineUser, LineUser.line_user_id == listed.c.value)
        .where(_o.id == bindparam("outbound_id"), LineUser.is_blocked)
    )


_BLOCKED = {
    "postgresql": _blocked_statement(func.jsonb_array_elements_text),
    "sqlite": _blocked_statement(func.json_each),
}


def _blocked_recipients(connection: Connection, outbound_id: int) -> set[str]:
    """Which of a message's recipients blocked the account, looked up in the database from the message's own row
    (the ids are not sent back and forth: a multicast has 500)."""
    statement = _BLOCKED[connection.dialect.name]
    return set(connection.scalars(statement, {"outbound_id": outbound_id}))


def _send(
    line: LineClient, message: OutboundMessage, recipients: list[str], now: datetime, policy: DeliveryPolicy
) -> str:
    """Send one outbox message; returns how it went out."""
    if message.kind == "reply" and message.reply_token:
        expires = message.reply_token_expires_at
        if expires is not None and now < expires:
            try:
                line.reply(message.reply_token, message.messages)
                return "reply"
            except LineDeliveryError as exc:
                if exc.outcome_unknown:
                    raise _OutcomeUnknown(str(exc)) from exc
                if exc.status != 400:
                    raise
                if message.attempts > 1:  # an earlier attempt reached LINE: it may have used the token
                    raise _OutcomeUnknown(f"reply token refused after an earlier attempt: {exc.body}") from exc
                log.info("reply token refused: %s", exc.body)
        if not policy.fallback_to_push:
            raise _PushNotAllowed()
    if message.kind == "broadcast":
        line.broadcast(message.messages, message.retry_key)
        return "broadcast"
    if len(recipients) == 1:
        line.push(recipients[0], message.messages, message.retry_key)
        return "push"
    line.multicast(recipients, message.messages, message.retry_key)
    return "multicast"


def deliver(
    sessions: sessionmaker[Session],
    line: LineClient,
    outbound_id: int,
    now: datetime,
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> str:
    """Send one outbox message to LINE once; returns its status (sent, dropped, pending, failed, unknown, expired or
    skipped)."""
    with _engine(sessions).begin() as connection:
        message = _claim(connection, outbound_id, now)
        if message is None:
            return "skipped"
        blocked = _blocked_recipients(connection, outbound_id) if message.kind != "broadcast" else set()
    recipients = [user_id for user_id in message.recipients if user_id not in blocked]
    return _send_and_record(sessions, line, message, recipients, now, policy)


def deliver_claimed(
    sessions: sessionmaker[Session],
    line: LineClient,
    message: OutboundMessage,
    now: datetime,
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> str:
    """Send a message its unit of work claimed for this sender (the answer to an event, written and claimed in the
    event's transaction, to a user the bot just heard from); returns its status like `deliver`."""
    return _send_and_record(sessions, line, message, list(message.recipients), now, policy)


def _engine(sessions: sessionmaker[Session]) -> Engine:
    """The delivery's statements are Core statements run on a connection of their own, checked out for one short
    transaction at a time: none is held while LINE is called (a slow LINE must not starve the pool)."""
    engine: Engine = sessions.kw["bind"]
    return engine


def _send_and_record(
    sessions: sessionmaker[Session],
    line: LineClient,
    message: OutboundMessage,
    recipients: list[str],
    now: datetime,
    policy: DeliveryPolicy,
) -> str:
    outbound_id = message.id
    status, via, error, next_attempt_at = "sent", None, None, None
    attempts = message.attempts
    if message.kind != "broadcast" and not recipients:
        status = "dropped"
    else:
        try:
            via = _send(line, message, recipients, now, policy)
        except _OutcomeUnknown as exc:
            status, via, error = "unknown", "reply", str(exc)[:2000]
            log.warning("outbox message %s: reply outcome unknown, not sent again: %s", outbound_id, exc)
        except _PushNotAllowed:
            status, error = "expired", "reply token no longer usable and REPLY_FALLBACK_TO_PUSH is off"
            log.info("outbox message %s: reply token expired, no push in its place", outbound_id)
        except LineDeliveryError as exc:
            error = str(exc)[:2000]
            if not exc.reached_line:
                attempts -= 1  # `attempts` counts the requests that reached LINE
            if not exc.transient:
                status = "failed"
                log.warning("outbox message %s refused by LINE: %s", outbound_id, exc)
            elif now - message.created_at >= policy.give_up_after:
                status = "failed"
                log.error(  # the alert: an answer LINE did not take for the whole horizon is dropped
                    "outbox message %s given up after %s of LINE failures: %s", outbound_id, policy.give_up_after, exc
                )
            else:
                status, next_attempt_at = "pending", now + retry_delay(attempts)
                log.info("outbox message %s not delivered, next attempt at %s: %s", outbound_id, next_attempt_at, exc)
    with _engine(sessions).begin() as connection:
        connection.execute(
            _RECORD,
            {
                "outbound_id": outbound_id,
                "status": status,
                "via": via,
                "error": error,
                "sent": now,
                "tries": attempts,
                "next_attempt": next_attempt_at,
            },
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
