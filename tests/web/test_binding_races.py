"""Races: LINE users binding the same member at the same moment, each in its own transaction, exactly one wins.

On PostgreSQL the threads also wait for each other inside their transactions, after reading, so every one of them
decides on the same stale snapshot; SQLite takes its write lock at BEGIN and runs them one after another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory, transaction
from bot.services import binding
from bot.services.bind_codes import issue_bind_code, redeem_bind_code
from bot.services.binding import BindingRefused
from models import BindCode, BindingAudit, LineUser, Member, Store
from tests.helpers import count
from tests.pos import make_line_user, make_member, open_shop


@pytest.fixture
def sessions(runtime) -> Iterator[sessionmaker[Session]]:
    """Enough pooled connections for every racer to hold one at once."""
    engine = make_engine(runtime.settings.database_url, pool_size=25, max_overflow=0)
    yield make_session_factory(engine)
    engine.dispose()


def race(sessions: sessionmaker[Session], racers: int, work: Callable[[Session, int, Callable[[], Any]], str]) -> list:
    """Run `work` in `racers` threads started together, each in its own transaction; their answers or errors."""
    start = threading.Barrier(racers, timeout=30)
    decided = threading.Barrier(racers, timeout=30)
    on_postgres = sessions.kw["bind"].dialect.name == "postgresql"
    results: list[Any] = [None] * racers

    def all_have_read() -> None:
        if on_postgres:
            decided.wait()

    def run(i: int) -> None:
        start.wait()
        try:
            with transaction(sessions) as tx:
                results[i] = work(tx, i, all_have_read)
        except BindingRefused as exc:
            results[i] = exc.message
        except Exception as exc:  # pragma: no cover - reported by the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_line_users_binding_one_member_at_once_only_one_wins(runtime, session, sessions):
    member = make_member(runtime.sessions)
    users = [make_line_user(runtime.sessions, name) for name in ("阿明", "阿華")]
    now = datetime.now(UTC)

    def bind(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        row, user = tx.get(Member, member.id), tx.get(LineUser, users[i].id)
        assert row is not None and user is not None
        all_have_read()
        binding.bind(tx, row, user, channel="chat", at=now)
        return "bound"

    results = race(sessions, 2, bind)

    assert sorted(results) == ["bound", "此會員已綁定其他 LINE 帳號，請洽門市人員協助解除綁定"]
    winner = users[results.index("bound")]
    assert session.scalars(select(Member.line_user_id)).one() == winner.id
    assert session.scalars(select(BindingAudit.line_user_id)).all() == [winner.id]


def test_twenty_line_users_redeeming_one_code_at_once_bind_it_once(runtime, session, sessions):
    shop = open_shop(runtime.sessions)
    member = make_member(runtime.sessions)
    users = [make_line_user(runtime.sessions, f"客人{i}") for i in range(20)]
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as tx:
        store = tx.get(Store, shop.store_id)
        assert store is not None
        code = issue_bind_code(tx, tx.get(Member, member.id), store=store, staff=None, now=now).code

    def redeem(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        user = tx.get(LineUser, users[i].id)
        assert user is not None
        tx.scalars(select(BindCode.used_at)).one()  # read the code before anyone has used it (PostgreSQL)
        all_have_read()
        return redeem_bind_code(tx, code, user, now).member_number

    results = race(sessions, 20, redeem)

    assert results.count("M000001") == 1, results
    assert all(r == "M000001" or str(r).startswith("此綁定碼已使用過") for r in results), results
    winner = users[results.index("M000001")]
    assert session.scalars(select(Member.line_user_id)).one() == winner.id
    assert count(session, BindingAudit) == 1
    assert session.scalars(select(BindCode.used_by_line_user_id)).one() == winner.id
