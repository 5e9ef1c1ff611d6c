"""Pooled connections: one that sat idle is pinged at checkout and replaced when the server has closed it; one handed
back a moment ago is used again without a ping."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot import db


def test_a_connection_closed_by_the_server_while_idle_is_replaced_not_failed(database_url, monkeypatch):
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL closes connections; SQLite has none to close")
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every checkout counts as after an idle spell
    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    with engine.connect() as connection:
        backend = connection.scalar(text("SELECT pg_backend_pid()"))
    killer = db.make_engine(database_url)
    with killer.connect() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    killer.dispose()

    with engine.connect() as connection:
        assert connection.scalar(text("SELECT 41 + 1")) == 42
        assert connection.scalar(text("SELECT pg_backend_pid()")) != backend
    engine.dispose()


def test_a_connection_handed_back_a_moment_ago_is_not_pinged_again(database_url, monkeypatch):
    if database_url.startswith("sqlite"):
        pytest.skip("the SQLite engine has no pings")
    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    with engine.connect() as connection:
        connection.scalar(text("SELECT 1 AS first_use"))
    statements: list[str] = []
    # The ping runs on the raw DBAPI connection (not through the engine's events): count it at the driver.
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection) -> bool:
        statements.append("ping")
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    for _ in range(3):
        with engine.connect() as connection:
            connection.scalar(text("SELECT 2"))
    assert statements == []

    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as connection:
        connection.scalar(text("SELECT 3"))
    assert statements == ["ping"]
    engine.dispose()
