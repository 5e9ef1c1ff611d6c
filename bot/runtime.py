"""What the web process and the worker share: settings, database, clock, LINE client, rate limiter and the
after-commit hook that queues deliveries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.db import make_engine, make_session_factory
from bot.line_client import LineClient
from bot.pacing import Pacer
from bot.rate_limit import LimitsRateLimiter
from bot.services.rate_limits import RateLimiter
from bot.settings import Settings
from bot.uow import AfterCommit


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    line: LineClient
    limiter: RateLimiter
    clock: Clock = field(default_factory=Clock)
    # What a unit of work hands its messages to once it has committed (tests may collect them instead).
    after_commit: Callable[[AfterCommit], None] = field(default=lambda work: queue_after_commit(work))

    @classmethod
    def build(cls, settings: Settings, *, line_backoff: float = 0.5) -> Runtime:
        # Production logs never show a statement's parameters (phones, birthdays) in a database error.
        engine = make_engine(settings.database_url, hide_parameters=settings.app_env == "production")
        limiter = LimitsRateLimiter.from_settings(settings)
        pacer = Pacer(limiter, settings.line_multicast_rate, "channel")
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            line=LineClient(settings, backoff_factor=line_backoff, multicast_pacer=pacer),
            limiter=limiter,
        )


def queue_after_commit(work: AfterCommit) -> None:
    """Queue the sending of committed outbox messages and the relinking of changed rich menus (bot.tasks)."""
    from bot.tasks import apply_rich_menu, deliver_message  # the tasks module imports this one

    for outbound_id in work.outbox_ids:
        deliver_message(outbound_id)
    for line_user_id in work.menu_users:
        apply_rich_menu(line_user_id)


_current: Runtime | None = None


def set_runtime(runtime: Runtime) -> None:
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    """The process's runtime; a worker builds it from the environment on first use."""
    global _current
    if _current is None:
        _current = Runtime.build(Settings.from_env())
    return _current
