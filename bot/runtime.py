"""What the web process and the worker share: settings, database and the LINE client."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory
from bot.line_client import LineClient
from bot.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    line: LineClient

    @classmethod
    def build(cls, settings: Settings, *, line_backoff: float = 0.5) -> Runtime:
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            line=LineClient(settings, backoff_factor=line_backoff),
        )


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
