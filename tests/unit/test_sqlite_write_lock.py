"""SQLite's write lock: every unit of work takes it at BEGIN IMMEDIATE, waiting in short pauses for a writer that
holds it, giving up after its wait like the busy timeout did, and leaving the busy timeout as it was."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db import begin_immediate, make_engine


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def _busy_timeout(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA busy_timeout").fetchone()[0])


def test_a_writer_waiting_for_the_lock_gets_it_once_the_holder_commits(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    holder, waiter = _connect(path), _connect(path)
    holder.execute("CREATE TABLE t (n INTEGER)")
    waiter.execute("PRAGMA busy_timeout=30000")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.2, holder.execute, args=("COMMIT",))
    release.start()

    begin_immediate(waiter)  # blocks until the holder's commit
    waiter.execute("INSERT INTO t VALUES (2)")
    waiter.execute("COMMIT")
    release.join()

    assert [row[0] for row in waiter.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
    assert _busy_timeout(waiter) == 30000


def test_a_writer_gives_up_after_its_wait_and_the_busy_timeout_is_put_back(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    holder, waiter = _connect(path), _connect(path)
    waiter.execute("PRAGMA busy_timeout=30000")
    holder.execute("BEGIN IMMEDIATE")

    with pytest.raises(sqlite3.OperationalError) as refused:
        begin_immediate(waiter, wait_seconds=0.2)

    assert refused.value.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    assert not waiter.in_transaction
    assert _busy_timeout(waiter) == 30000
    holder.execute("ROLLBACK")


def test_the_engine_takes_the_write_lock_when_a_transaction_begins(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    other = _connect(tmp_path / "db.sqlite3")
    other.execute("PRAGMA busy_timeout=0")  # asks once, does not wait

    with engine.begin() as connection:
        connection.execute(text("SELECT 1"))  # a read, yet the lock is held from the BEGIN
        with pytest.raises(sqlite3.OperationalError):
            other.execute("BEGIN IMMEDIATE")

    other.execute("BEGIN IMMEDIATE")  # free again after the commit
    other.execute("ROLLBACK")
    engine.dispose()
