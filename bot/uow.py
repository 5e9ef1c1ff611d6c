"""The unit of work: what every entry point (webhook event, HTTP request, job, CLI command) opens once.

It holds the session (one transaction), the moment the work happens (`now`, read once from the runtime's clock) and
the settings. Services get the session and `now` from it and record domain facts; they never commit or send. When
the block ends without an error, the dispatcher turns the facts into outbox rows in the same transaction, the
transaction commits, and only then is delivery queued. On an error everything, facts included, is rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.rate_limits import RateLimiter
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class AfterCommit:
    """Work for after the commit: outbox messages to send and LINE users whose rich menu should change."""

    outbox_ids: list[int] = field(default_factory=list)
    menu_users: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.outbox_ids or self.menu_users)

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

    def record(self, fact: facts.Fact) -> None:
        """Record a domain fact; the dispatcher turns it into messages at commit."""
        facts.record(self.session, fact)

    def send_after_commit(self, outbox_ids: list[int]) -> None:
        """Outbox rows written in this unit of work (replies, pushes) to deliver once it has committed."""
        self.after_commit.outbox_ids.extend(outbox_ids)


def left_to_the_caller(work: AfterCommit) -> None:
    """An after-commit hook that queues nothing: the entry point sends `uow.after_commit` itself (the event worker
    sends replies at once, while their reply token is fresh)."""


def _dispatch(uow: UnitOfWork) -> None:
    from bot.dispatch import dispatch

    dispatch(uow)


@contextmanager
def unit_of_work(
    runtime: Runtime, *, now: datetime | None = None, after_commit: Callable[[AfterCommit], None] | None = None
) -> Iterator[UnitOfWork]:
    """Open one unit of work; commit (after dispatching its facts) when the block ends, roll back on any error.

    After the commit, `after_commit` (by default the runtime's: queue the deliveries) gets what is to be sent.
    """
    session = runtime.sessions()
    uow = UnitOfWork(
        session=session, now=now or runtime.clock.now(), settings=runtime.settings, limiter=runtime.limiter
    )
    try:
        yield uow
        _dispatch(uow)
        session.commit()
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
