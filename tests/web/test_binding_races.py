"""Races: LINE users binding the same member at the same moment, each in its own transaction, exactly one wins.

On PostgreSQL the threads also wait for each other inside their transactions, after reading, so every one of them
decides on the same stale snapshot; SQLite takes its write lock at BEGIN and runs them one after another.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import transaction
from bot.services.membership import binding
from bot.services.membership.bind_codes import issue_bind_code, redeem_bind_code
from models import BindCode, BindingAudit, LineUser, Member, Store
from tests.concurrency import race
from tests.factories import make_member
from tests.helpers import count
from tests.pos import make_line_user, open_shop


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
        return redeem_bind_code(tx, code, user, now, limiter=runtime.limiter).member_number

    results = race(sessions, 20, redeem)

    assert results.count("M000001") == 1, results
    assert all(r == "M000001" or str(r).startswith("此綁定碼已使用過") for r in results), results
    winner = users[results.index("M000001")]
    assert session.scalars(select(Member.line_user_id)).one() == winner.id
    assert count(session, BindingAudit) == 1
    assert session.scalars(select(BindCode.used_by_line_user_id)).one() == winner.id
