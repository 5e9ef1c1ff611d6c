"""Concurrent smart stamps for one member: the daily limit holds, whatever the number of tills stamping at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import transaction
from bot.refusal_texts import text_for
from bot.services.barcode import codes as barcode
from bot.services.barcode.scanning import scan
from bot.services.refusals import Reason, Refused
from bot.services.rewards.stamps import smart_stamp
from models import Member, StampCard, StampEntry
from tests.concurrency import race
from tests.factories import make_member
from tests.helpers import count
from tests.pos import open_shop
from tests.stamp_helpers import T0, make_stamp_template

RACERS = 20


def test_twenty_smart_stamps_at_once_with_distinct_codes_give_exactly_the_daily_limit(runtime, sessions, session):
    shop = open_shop(runtime.sessions)
    member = make_member(runtime.sessions)
    make_stamp_template(
        runtime.sessions, "VISIT10", name="來店集點", rule="per_visit", amount_per_stamp=None, daily_limit=3
    )
    # One code per minute (each a distinct, unspent code), all on the same Taipei day.
    times = [T0 + timedelta(minutes=i) for i in range(RACERS)]
    with transaction(runtime.sessions) as tx:
        row = tx.get(Member, member.id)
        assert row is not None
        codes = [barcode.current_code(tx, row, at).code for at in times]
    assert len(set(codes)) == RACERS

    def stamp(tx: Session, i: int, all_have_read: Callable[[], Any]) -> str:
        tx.get(Member, member.id)
        all_have_read()
        outcome = scan(tx, codes[i], intent="transaction", store_id=shop.store_id, staff_id=shop.clerk_id, at=times[i])
        assert outcome.member is not None, outcome.refusal
        smart_stamp(
            tx, outcome.member, store_id=shop.store_id, staff_id=shop.clerk_id, at=times[i], idempotency_key=f"till-{i}"
        )
        return "stamped"

    results = race(sessions, RACERS, stamp)

    limit_reached = text_for(Refused(Reason.DAILY_LIMIT_REACHED))
    assert sorted(results) == sorted(["stamped"] * 3 + [limit_reached] * (RACERS - 3)), results
    card = session.scalars(select(StampCard)).one()
    assert (card.stamps, card.is_open) == (3, True)
    assert count(session, StampEntry) == 3
