"""The unit of work: what every entry point (webhook event, HTTP request, job, CLI command) opens once.

It holds the session (one transaction), the moment the work happens (`now`, read once from the runtime's clock) and
the settings. Services get the session and `now` from it and record domain facts; they never commit or send. When
the block ends without an error, the dispatcher turns the facts into outbox rows in the same transaction, the
transaction commits, and only then is delivery queued. On an error everything, facts included, is rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.rate_limits import RateLimiter
from bot.settings import Settings
from models import OutboundMessage

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class AfterCommit:
    """Work for after the commit: outbox messages to send and LINE users whose rich menu should change.

    `claimed` holds messages this unit of work already claimed for its own sender (the event worker's replies): they
    are sent as they are, with no claim of their own and no second read of the row.
    """

    outbox_ids: list[int] = field(default_factory=list)
    menu_users: list[str] = field(default_factory=list)
    claimed: list[OutboundMessage] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.outbox_ids or self.menu_users or self.claimed)

    def relink_menu(self, line_user_id: str) -> None:
        """Check the LINE user's rich menu after the commit (once, however often it is asked)."""
        if line_user_id not in self.menu_users:
            self.menu_users.append(line_user_id)


@dataclass
class UnitOfWork:
    session: Session
    now: datetime
    settings: Settings
    limiter: RateLimiter
    after_commit: AfterCommit = field(default_factory=AfterCommit)
    # Outbox rows handed to send_after_commit as objects: held here (the session's identity map is weak) so a claim
    # needs no second read, and inserted already claimed when they were not yet flushed.
    outbox_rows: list[OutboundMessage] = field(default_factory=list)

    def record(self, fact: facts.Fact) -> None:
        """Record a domain fact; the dispatcher turns it into messages at commit."""
        facts.record(self.session, fact)

    def send_after_commit(self, outbox: Sequence[int | OutboundMessage]) -> None:
        """Outbox rows written in this unit of work (replies, pushes; their ids, or the rows themselves, written at
        the commit) to deliver once it has committed."""
        for item in outbox:
            if isinstance(item, OutboundMessage):
                self.outbox_rows.append(item)
            else:
                self.after_commit.outbox_ids.append(item)


def left_to_the_caller(work: AfterCommit) -> None:
    """An after-commit hook that queues nothing: the entry point sends `uow.after_commit` itself (the event worker
    sends replies at once, while their reply token is fresh)."""


def _dispatch(uow: UnitOfWork) -> None:
    from bot.dispatch import dispatch

    dispatch(uow)


def _claim_for_this_sender(uow: UnitOfWork) -> None:
    """Mark the unit of work's outbox rows as being sent, in its own transaction, so the caller sends them right
    after the commit without claiming each in a transaction of its own (a sender that dies leaves them `sending`,
    and the sweep takes them over after CLAIM_TIMEOUT, as for any claim)."""
    written = [uow.session.get(OutboundMessage, outbound_id) for outbound_id in uow.after_commit.outbox_ids]
    rows, uow.outbox_rows = [*uow.outbox_rows, *written], []
    for message in rows:
        if message is None or message.status != "pending":
            continue
        message.status, message.sent_at, message.attempts = "sending", uow.now, message.attempts + 1
        uow.after_commit.claimed.append(message)
    uow.after_commit.outbox_ids = [
        outbound_id
        for outbound_id in uow.after_commit.outbox_ids
        if outbound_id not in {message.id for message in uow.after_commit.claimed}
    ]


_OUTBOX: Table = OutboundMessage.__table__  # type: ignore[assignment]
_OUTBOX_COLUMNS = [column.key for column in _OUTBOX.columns if column.key != "id"]


# The rows come back in the order they were given, with every column (the defaults the INSERT filled in too).
_OUTBOX_INSERT = insert(_OUTBOX).returning(*_OUTBOX.columns, sort_by_parameter_order=True)


def _insert_outbox_rows(session: Session, rows: list[OutboundMessage]) -> None:
    """Write the unit of work's new outbox rows (claimed or not, as they stand) with one INSERT per shape (the
    columns a row sets; the others take their defaults), not the ORM's flush: an answer's rows are written for every
    event, and the flush cost more than the statement. The rows leave the session with every column set, for the
    sender to read after the commit."""
    by_shape: dict[frozenset[str], list[OutboundMessage]] = {}
    for row in rows:
        session.expunge(row)
        by_shape.setdefault(frozenset(key for key in _OUTBOX_COLUMNS if key in row.__dict__), []).append(row)
    connection = session.connection()
    for shape, shaped in by_shape.items():
        values: list[dict[str, Any]] = [{key: row.__dict__[key] for key in shape} for row in shaped]
        for row, written in zip(shaped, connection.execute(_OUTBOX_INSERT, values).all(), strict=True):
            for key, value in written._mapping.items():
                setattr(row, key, value)


@contextmanager
def unit_of_work(
    runtime: Runtime,
    *,
    now: datetime | None = None,
    after_commit: Callable[[AfterCommit], None] | None = None,
    claim_outbox: bool = False,
) -> Iterator[UnitOfWork]:
    """Open one unit of work; commit (after dispatching its facts) when the block ends, roll back on any error.

    After the commit, `after_commit` (by default the runtime's: queue the deliveries) gets what is to be sent. With
    `claim_outbox` the outbox rows written are claimed in the same transaction, for a caller that sends them itself.
    """
    session = runtime.sessions()
    uow = UnitOfWork(
        session=session, now=now or runtime.clock.now(), settings=runtime.settings, limiter=runtime.limiter
    )
    try:
        yield uow
        _dispatch(uow)
        outbox_rows = list(uow.outbox_rows)
        if claim_outbox:
            _claim_for_this_sender(uow)
        # After the claim: its reads may have flushed some rows already (those are updated by the ORM at the commit).
        _insert_outbox_rows(session, [row for row in outbox_rows if inspect(row).pending])
        session.commit()
        uow.after_commit.outbox_ids += [row.id for row in uow.outbox_rows]
    except BaseException:
        session.rollback()
        raise
    finally:
        facts.forget(session)
        session.close()
    if uow.after_commit:
        try:
            (after_commit or runtime.after_commit)(uow.after_commit)
        except Exception:  # the outbox sweep sends whatever could not be queued now
            log.exception("delivery of %d messages could not be queued", len(uow.after_commit.outbox_ids))
