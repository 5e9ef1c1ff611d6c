"""Races: one shopper's referral codes arriving at once keep one first touch; one member is credited once.

On PostgreSQL the threads wait for each other after reading, so each decides on the same stale snapshot; SQLite runs
them one after another."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import transaction
from bot.services.staff.referrals import Touch, attribute_member, record_touch, referral_code_for
from models import LineUser, Member, ReferralAttribution, ReferralLead, ReferralTouch, Staff
from tests.concurrency import race
from tests.factories import make_member, make_staff, make_store
from tests.helpers import count
from tests.pos import make_line_user


def codes_of(runtime: Any, *staff: Staff) -> list[str]:
    with transaction(runtime.sessions) as tx:
        return [referral_code_for(tx, tx.get_one(Staff, one.id), datetime.now(UTC)).code for one in staff]


def test_ten_codes_from_one_shopper_at_once_keep_exactly_one_first_touch(runtime, session, sessions):
    store = make_store(runtime.sessions)
    clerks = [make_staff(runtime.sessions, code=f"C00{i}", name=f"店員{i}", store=store) for i in (1, 2)]
    codes = codes_of(runtime, *clerks)
    user = make_line_user(runtime.sessions)
    now = datetime.now(UTC)

    def send(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        line_user = tx.get_one(LineUser, user.id)
        tx.scalars(select(ReferralLead).where(ReferralLead.line_user_id == user.id)).all()  # no lead yet
        all_have_read()
        return record_touch(tx, line_user, codes[i % 2], now).outcome.value

    results = race(sessions, 10, send)

    assert sorted(results) == [Touch.ALREADY_CREDITED.value] * 9 + [Touch.CREDITED.value]
    assert count(session, ReferralTouch) == 10, "every touch is recorded"
    assert count(session, ReferralLead) == 1


def test_one_member_credited_from_two_transactions_at_once_is_credited_once(runtime, session, sessions):
    store = make_store(runtime.sessions)
    clerk = make_staff(runtime.sessions, store=store)
    (code,) = codes_of(runtime, clerk)
    user = make_line_user(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        record_touch(tx, tx.get_one(LineUser, user.id), code, datetime.now(UTC))
    member = make_member(runtime.sessions)

    def credit(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        row, line_user = tx.get_one(Member, member.id), tx.get_one(LineUser, user.id)
        all_have_read()
        made = attribute_member(tx, row, line_user, kind="join", at=datetime.now(UTC))
        return "credited" if made else "already"

    results = race(sessions, 5, credit)

    assert sorted(results) == ["already"] * 4 + ["credited"]
    assert count(session, ReferralAttribution) == 1
    assert session.get(Member, member.id).referred_by_staff_id == clerk.id
