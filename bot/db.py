"""Database engine and sessions: one transaction per LINE event and per web request."""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so web and worker can share it."""
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            # WAL's recommended setting: a commit survives the app crashing, and costs no fsync (only a checkpoint
            # does); a power cut may lose the last commits. The quickstart's database; production is PostgreSQL.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # pysqlite's own transaction handling defers BEGIN; issue it ourselves so locks are taken at BEGIN.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_autobegin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            begin_immediate(conn.connection.dbapi_connection)

        return engine
    engine = create_engine(database_url, **kwargs)
    _ping_connections_left_idle(engine)
    return engine


# How long a unit of work waits for SQLite's write lock before it fails (as the busy timeout did).
SQLITE_LOCK_WAIT_SECONDS = 30.0
_BUSY_TIMEOUT_MS = 30_000
_LONGEST_PAUSE = 0.002


def begin_immediate(dbapi_connection: sqlite3.Connection, wait_seconds: float = SQLITE_LOCK_WAIT_SECONDS) -> None:
    """Start a SQLite transaction holding the write lock, waiting for it in pauses of at most 2 ms.

    Every unit of work waits here (BEGIN IMMEDIATE takes the lock up front). SQLite's own busy handler sleeps 1, 2,
    5, 10 ... then 100 ms between tries, so a lock freed after a millisecond could leave the next writer asleep for
    up to 100 ms while the database stood idle (the quickstart's throughput under load). For this one statement the
    busy timeout is lifted and the lock tried again after short pauses; it stays for any other, rarer wait.
    """
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        deadline, pause = time.monotonic() + wait_seconds, 0.0001
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.close()


# A connection handed back to the pool less than this many seconds ago was working then: it is handed out again
# without a ping. SQLAlchemy's pool_pre_ping pings on every checkout, a round trip that cost about a tenth of an
# event's and a multicast's time in the worker (issue 15); a server restarted within the second fails one unit of
# work (rolled back; the queue retries it) and the pool then replaces every connection it had.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_connections_left_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat in the pool: pinged at checkout, and replaced
    (the pool tries a new connection) when the ping fails."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the server closed it (restarted, or it timed out idle): the pool reconnects
            raise DisconnectionError("connection lost while idle in the pool") from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_ignoring_conflicts(
    session: Session, table: Any, rows: list[dict[str, Any]], *, key: str | None = None
) -> list[int | None]:
    """INSERT … ON CONFLICT DO NOTHING; the new id of each row, or None where it already existed.

    With `key` (a unique column every row has) all rows go in one statement; otherwise one statement a row."""
    if not rows:
        return []
    statement = _insert_ignoring(session.get_bind().dialect.name, table, key)
    if key is not None:
        new_ids = {row_key: new_id for new_id, row_key in session.execute(statement, rows)}
        return [new_ids.pop(row[key], None) for row in rows]
    return [session.execute(statement, row).scalar_one_or_none() for row in rows]


@functools.cache
def _insert_ignoring(dialect: str, table: Any, key: str | None) -> Any:
    # Built once and run with the rows as parameters: building an INSERT with the values in it (a JSON payload
    # among them) and computing its cache key cost more than the rest of the webhook's request.
    returning = (table.c.id, table.c[key]) if key is not None else (table.c.id,)
    return dialect_insert(dialect)(table).on_conflict_do_nothing().returning(*returning)


def dialect_insert(dialect: str) -> Any:
    """The INSERT construct of this database, the one with ON CONFLICT (PostgreSQL and SQLite)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - the project supports these two
        raise RuntimeError(f"unsupported database dialect {dialect}")
    return insert
