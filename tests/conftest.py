"""Fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL says so), the app served on a
real local port (the LINE client talks HTTP to the local LINE platform inside it), and the task queue run inline."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import limits.storage.memory
import pytest
from flask import Flask
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from werkzeug.serving import BaseWSGIServer, make_server

from bot.app import create_app
from bot.cli import upgrade_database
from bot.clock import FixedClock
from bot.db import make_engine, make_session_factory
from bot.queue import huey
from bot.runtime import Runtime
from bot.settings import TEST_RUNNER_FLAG, Settings, normalise_database_url
from models import Base, Member
from tests.factories import make_member
from tests.limiter_clock import LimiterClock

huey.immediate = True
os.environ[TEST_RUNNER_FLAG] = "1"  # APP_ENV=test may start without secrets here, and only here


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """PostgreSQL (DATABASE_URL) with its public schema rebuilt, or a SQLite template file, at the newest migration."""
    url = os.environ.get("DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.sqlite3'}"
    upgrade_database(url)
    return url


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """An empty database for one test. Ledger tables refuse DELETE, so SQLite gets a fresh copy of the migrated
    template and PostgreSQL is emptied with TRUNCATE (which row triggers do not see)."""
    if not migrated_database.startswith("sqlite"):
        yield migrated_database
        engine = make_engine(migrated_database)
        with engine.begin() as connection:
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    copy = tmp_path / "test.sqlite3"
    shutil.copyfile(migrated_database.removeprefix("sqlite:///"), copy)
    yield f"sqlite:///{copy}"


class _SwitchableApp:
    """The live server outlives each test's app: requests go to whichever app the current test built."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:  # a page still polling after its test ended
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app is being served"]
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live_server() -> Iterator[tuple[BaseWSGIServer, _SwitchableApp]]:
    holder = _SwitchableApp()
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, holder
    server.shutdown()


@pytest.fixture
def base_url(live_server: tuple[BaseWSGIServer, _SwitchableApp]) -> str:
    return f"http://127.0.0.1:{live_server[0].port}"


@pytest.fixture
def settings(database_url: str, base_url: str) -> Settings:
    env = {"APP_ENV": "test", "DATABASE_URL": database_url, "PUBLIC_BASE_URL": base_url}
    return Settings.from_env(env)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.build(settings, line_backoff=0.01)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def limiter_clock(monkeypatch: pytest.MonkeyPatch) -> LimiterClock:
    """Set when the runtime's (memory) rate limiter sees each hit happen: `limiter_clock.set(at)`."""
    clock = LimiterClock()
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    return clock


@pytest.fixture
def clock(runtime: Runtime) -> FixedClock:
    """The program's one clock, stopped at the time the test starts: `clock.set(...)` and `clock.advance(...)` move
    it for the web views, the handlers and the jobs alike."""
    frozen = FixedClock(datetime.now(UTC))
    runtime.clock = frozen
    return frozen


@pytest.fixture
def app(settings: Settings, runtime: Runtime, live_server: tuple[BaseWSGIServer, _SwitchableApp]) -> Iterator[Flask]:
    app = create_app(settings, runtime)
    app.config["TESTING"] = True
    live_server[1].app = app
    yield app
    live_server[1].app = None


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def platform(app: Flask) -> Any:
    """The local LINE platform serving this test's app."""
    return app.extensions["devline"]


@pytest.fixture
def sessions(runtime: Runtime) -> Iterator[sessionmaker[Session]]:
    """Sessions for concurrency tests: enough pooled connections for every racing thread to hold one at once."""
    engine = make_engine(runtime.settings.database_url, pool_size=25, max_overflow=0)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session for a test to look at what the app stored: every query sees the latest commits and takes no
    locks (autocommit), so the app's own transactions never wait on the test."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with Session(engine) as session:

        @event.listens_for(session, "do_orm_execute")
        def _always_fresh(state: ORMExecuteState) -> None:
            state.update_execution_options(populate_existing=True)

        yield session
    engine.dispose()


@pytest.fixture
def member(runtime: Runtime) -> Member:
    """The default test member (tests.factories.make_member): M000001, 林怡君, +886912345678, regular, unbound."""
    return make_member(runtime.sessions)
