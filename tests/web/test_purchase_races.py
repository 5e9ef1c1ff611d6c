"""What many tills (or one impatient POS retrying) do at the same moment: each racer runs in its own thread and
its own transaction, and the database has the last word."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db import transaction
from bot.refusal_texts import text_for
from bot.services.barcode import codes as barcode
from bot.services.refusals import Refused
from bot.services.rewards.ledger import InsufficientPoints, ledger_sum, points_balance, post_points
from bot.services.rewards.purchases import PurchaseRequest, PurchaseResult, record_purchase
from bot.services.rewards.refunds import RefundRequest, record_refund
from bot.services.staff.api_keys import create_api_key
from bot.web import api_errors
from models import Member, PointEntry, Purchase, Refund, Store
from tests.concurrency import race
from tests.factories import make_member
from tests.helpers import count
from tests.pos import open_shop

TZ = ZoneInfo("Asia/Taipei")
RACERS = 100


def code_of(runtime, member_id: int, at: datetime) -> str:
    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        assert member is not None
        return barcode.current_code(session, member, at).code


def online_store(runtime) -> int:
    with transaction(runtime.sessions) as session:
        store = Store(code="WEB", name="網路商店", is_online=True)
        session.add(store)
        session.flush()
        create_api_key(session, store_code="WEB", name="shop", now=datetime.now(UTC))
        return store.id


def status_of(result: PurchaseResult) -> int:
    """The status the POS API answers a recorded purchase or refund with."""
    return 200 if result.replayed else 201


def repeat_at_once(sessions, store_id: int, request: PurchaseRequest, at: datetime) -> list:
    """The same purchase sent by 100 racers at once; each racer's status and body (without `replayed`)."""

    def work(tx, _i, _all_have_read):
        answer = record_purchase(tx, store_id, request, at=at, tz=TZ)
        return status_of(answer), json.dumps({**answer.body, "replayed": None}, sort_keys=True, ensure_ascii=False)

    return race(sessions, RACERS, work)


def test_a_hundred_repeats_of_one_scanned_purchase_at_once_record_it_once_and_all_get_the_same_answer(
    runtime, sessions, session
):
    shop = open_shop(runtime.sessions)
    member = make_member(runtime.sessions)
    at = datetime.now(UTC)
    request = PurchaseRequest("T-1", 1250, member_code=code_of(runtime, member.id, at), staff_code="C001")

    results = repeat_at_once(sessions, shop.store_id, request, at)

    assert all(isinstance(result, tuple) for result in results), [r for r in results if not isinstance(r, tuple)]
    assert Counter(status for status, _body in results) == {201: 1, 200: RACERS - 1}
    assert len({body for _status, body in results}) == 1
    assert json.loads(results[0][1])["points_earned"] == 12
    assert count(session, Purchase) == 1
    assert session.scalars(select(PointEntry.points).where(PointEntry.kind == "earn")).all() == [12]
    assert points_balance(session, member.id) == ledger_sum(session, member.id) == 12


def test_a_hundred_repeats_of_one_online_purchase_at_once_are_decided_by_the_transaction_id(runtime, sessions, session):
    store_id = online_store(runtime)
    member = make_member(runtime.sessions)
    request = PurchaseRequest("W-1", 3000, channel="online", member_number=member.member_number)

    results = repeat_at_once(sessions, store_id, request, datetime.now(UTC))

    assert Counter(status for status, _body in results) == {201: 1, 200: RACERS - 1}
    assert len({body for _status, body in results}) == 1
    assert (count(session, Purchase), count(session, PointEntry)) == (1, 1)
    assert points_balance(session, member.id) == 30


def test_concurrent_spends_that_would_overdraw_let_exactly_the_affordable_ones_through(runtime, sessions, session):
    member = make_member(runtime.sessions, points=100)
    at = datetime.now(UTC)

    def spend(tx, i, _all_have_read):
        post_points(tx, member.id, -7, kind="spend", reason="折抵", channel="pos", idempotency_key=f"s{i}", at=at)
        return "spent"

    results = race(sessions, 30, spend)

    assert Counter(results) == {"spent": 14, text_for(InsufficientPoints(7)): 16}
    assert points_balance(session, member.id) == ledger_sum(session, member.id) == 2


def test_concurrent_refunds_never_refund_more_than_the_purchase(runtime, sessions, session):
    store_id = online_store(runtime)
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        request = PurchaseRequest("W-1", 1000, channel="online", member_number=member.member_number)
        record_purchase(tx, store_id, request, at=datetime.now(UTC), tz=TZ)

    def refund(tx, i, _all_have_read):
        try:
            answer = record_refund(tx, store_id, RefundRequest("W-1", f"R-{i}", 300), at=datetime.now(UTC), tz=TZ)
        except Refused as refused:
            return api_errors.STATUS[refused.reason]
        return status_of(answer)

    results = race(sessions, 10, refund)

    assert Counter(results) == {201: 3, 422: 7}
    assert session.scalars(select(Purchase.refunded_amount)).one() == 900
    assert count(session, Refund) == 3
    assert points_balance(session, member.id) == ledger_sum(session, member.id) == 1
