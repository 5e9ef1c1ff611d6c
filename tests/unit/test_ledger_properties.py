"""Whatever happens to a member's points — earning, spending, purchases, refunds, expiry, the same message delivered
twice — the cached balance equals the sum of the ledger, equals an independent model of "lots" of points spent
oldest first, and is never negative; and every idempotency key names exactly one entry."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory, transaction
from bot.services.rewards.ledger import IdempotencyConflict, InsufficientPoints, ledger_sum, points_balance, post_points
from bot.services.rewards.point_expiry import expire_points, expiry_for
from bot.services.rewards.purchases import PurchaseRequest, points_for, record_purchase
from bot.services.rewards.refunds import RefundRequest, record_refund
from bot.services.rewards.tiers import tiers_by_code
from bot.services.staff.api_keys import create_api_key
from models import Member, PointEntry, Store
from tests.concurrency import race

TZ = ZoneInfo("Asia/Taipei")
START = datetime(2026, 1, 15, 10, 0, tzinfo=TZ).astimezone(UTC)
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
MEMBER_NUMBERS = itertools.count(1)


@dataclass
class Lot:
    """Points of one credit, as the model sees them: what is left, and when it expires."""

    entry_key: str
    expires_at: datetime
    left: int


@dataclass
class ModelPurchase:
    transaction_id: str
    amount: int
    refunded: int
    earned: int
    earn_key: str


def ledger_machine(sessions: sessionmaker[Session], store_id: int) -> type[RuleBasedStateMachine]:
    class PointsLedger(RuleBasedStateMachine):
        """One fresh member per example; the model is a list of lots spent soonest-expiring first."""

        def __init__(self) -> None:
            super().__init__()
            self.now = START
            self.lots: list[Lot] = []
            self.written: dict[str, tuple[str, int]] = {}  # idempotency key -> (kind, points)
            self.purchases: list[ModelPurchase] = []
            with transaction(sessions) as session:
                member = Member(member_number=f"P{next(MEMBER_NUMBERS):07d}", name="測試")
                session.add(member)
                session.flush()
                self.member_id, self.member_number = member.id, member.member_number

        # The model.

        @property
        def balance(self) -> int:
            return sum(lot.left for lot in self.lots)

        def _take(self, points: int, first: Lot | None = None) -> None:
            order = sorted(self.lots, key=lambda lot: lot.expires_at)
            for lot in ([first] if first else []) + order:
                used = min(lot.left, points)
                lot.left, points = lot.left - used, points - used
            assert points == 0

        def _post(self, points: int, kind: str, key: str, **extra: object) -> tuple[PointEntry, bool]:
            with transaction(sessions) as session:
                return post_points(
                    session, self.member_id, points, kind=kind, reason="測試", channel="system",
                    idempotency_key=key, at=self.now, **extra,
                )  # fmt: skip

        def _latest_key(self, kind: str) -> str:
            with sessions() as session:
                return session.scalars(
                    select(PointEntry.idempotency_key)
                    .where(PointEntry.member_id == self.member_id, PointEntry.kind == kind)
                    .order_by(PointEntry.id.desc())
                    .limit(1)
                ).one()

        # Rules.

        @rule(points=st.integers(1, 500))
        def earn(self, points: int) -> None:
            key = f"earn:{uuid.uuid4()}"
            expires_at = expiry_for(self.now, TZ)
            _entry, created = self._post(points, "earn", key, expires_at=expires_at)
            assert created
            self.lots.append(Lot(key, expires_at, points))
            self.written[key] = ("earn", points)

        @rule(points=st.integers(1, 400))
        def spend(self, points: int) -> None:
            key = f"spend:{uuid.uuid4()}"
            if points > self.balance:
                with pytest.raises(InsufficientPoints):
                    self._post(-points, "spend", key)
                return
            self._post(-points, "spend", key)
            self._take(points)
            self.written[key] = ("spend", -points)

        @rule(amount=st.integers(1, 40_000))
        def purchase(self, amount: int) -> None:
            transaction_id = f"T{uuid.uuid4().hex[:12]}"
            request = PurchaseRequest(transaction_id, amount, channel="online", member_number=self.member_number)
            with transaction(sessions) as session:
                member = session.get(Member, self.member_id)
                assert member is not None
                expected = points_for(amount, tiers_by_code(session)[member.tier])
                answer = record_purchase(session, store_id, request, at=self.now, tz=TZ)
            assert (answer.replayed, answer.body["points_earned"]) == (False, expected)  # 201: a new purchase
            earn_key = f"purchase:{answer.body['purchase_id']}"
            if expected:
                self.lots.append(Lot(earn_key, expiry_for(self.now, TZ), expected))
                self.written[earn_key] = ("earn", expected)
            self.purchases.append(ModelPurchase(transaction_id, amount, 0, expected, earn_key))

        @precondition(lambda self: any(p.refunded < p.amount for p in self.purchases))
        @rule(data=st.data())
        def refund(self, data: st.DataObject) -> None:
            open_ = [p for p in self.purchases if p.refunded < p.amount]
            bought = data.draw(st.sampled_from(open_))
            amount = data.draw(st.integers(1, bought.amount - bought.refunded))
            share = bought.earned * (bought.refunded + amount) // bought.amount
            share -= bought.earned * bought.refunded // bought.amount
            expected = min(share, self.balance)
            request = RefundRequest(bought.transaction_id, f"R{uuid.uuid4().hex[:8]}", amount)
            with transaction(sessions) as session:
                answer = record_refund(session, store_id, request, at=self.now, tz=TZ)
            assert not answer.replayed  # 201: a new refund
            assert (answer.body["points_reversed"], answer.body["points_shortfall"]) == (expected, share - expected)
            bought.refunded += amount
            if expected:
                self._take(expected, first=next(lot for lot in self.lots if lot.entry_key == bought.earn_key))
                self.written[self._latest_key("reverse")] = ("reverse", -expected)

        @rule(days=st.sampled_from([1, 30, 200, 366, 720]))
        def time_passes_and_points_expire(self, days: int) -> None:
            self.now += timedelta(days=days)
            due = sum(lot.left for lot in self.lots if lot.expires_at <= self.now)
            with transaction(sessions) as session:
                entry = expire_points(session, self.member_id, self.now)
            assert (-entry.points if entry else 0) == due
            for lot in self.lots:
                if lot.expires_at <= self.now:
                    lot.left = 0

        @precondition(lambda self: bool(self.written))
        @rule(data=st.data())
        def the_same_message_is_delivered_again(self, data: st.DataObject) -> None:
            key = data.draw(st.sampled_from(sorted(k for k in self.written if not k.startswith("refund:"))))
            kind, points = self.written[key]
            entry, created = self._post(points, kind, key)
            assert (created, entry.idempotency_key, entry.points) == (False, key, points)

        @precondition(lambda self: bool(self.written))
        @rule(data=st.data())
        def a_different_change_under_a_used_key_is_refused(self, data: st.DataObject) -> None:
            key = data.draw(st.sampled_from(sorted(self.written)))
            kind, points = self.written[key]
            with pytest.raises(IdempotencyConflict):
                self._post(points + 1, kind, key)

        # What must always hold.

        @invariant()
        def the_cached_balance_is_the_ledger_and_the_model(self) -> None:
            with sessions() as session:
                cached, summed = points_balance(session, self.member_id), ledger_sum(session, self.member_id)
            assert cached == summed == self.balance
            assert cached >= 0

        @invariant()
        def every_key_names_exactly_one_entry(self) -> None:
            with sessions() as session:
                counts = dict(
                    session.execute(
                        select(PointEntry.idempotency_key, func.count())
                        .where(PointEntry.member_id == self.member_id)
                        .group_by(PointEntry.idempotency_key)
                    ).all()
                )
            assert all(n == 1 for n in counts.values())
            assert set(self.written) <= set(counts)

    return PointsLedger


def test_the_balance_always_equals_the_ledger_and_the_model_and_is_never_negative(runtime):
    with transaction(runtime.sessions) as session:
        shop = Store(code="WEB", name="網路商店", is_online=True)
        session.add(shop)
        session.flush()
        create_api_key(session, store_code="WEB", name="shop", now=START)
        store_id = shop.id
    machine = ledger_machine(runtime.sessions, store_id)

    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=50,
            stateful_step_count=30,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_a_balance_row_is_created_by_the_first_entry_and_a_debit_before_it_is_refused(runtime, session):
    with transaction(runtime.sessions) as tx:
        member = Member(member_number="M1", name="測試")
        tx.add(member)
        tx.flush()
        with pytest.raises(InsufficientPoints):
            post_points(tx, member.id, -1, kind="spend", reason="x", channel="pos", idempotency_key="a", at=START)
        post_points(tx, member.id, 5, kind="earn", reason="x", channel="pos", idempotency_key="b", at=START)

    assert (points_balance(session, member.id), ledger_sum(session, member.id)) == (5, 5)
    assert session.scalar(select(func.count()).select_from(PointEntry)) == 1


def test_first_credits_and_debits_racing_on_a_member_with_no_balance_row_all_count_and_never_go_negative(
    runtime, session
):
    # The first credit creates the balance row (an upsert): credits arriving together must all land, on one row.
    with transaction(runtime.sessions) as tx:
        member = Member(member_number="M1", name="測試")
        tx.add(member)
        tx.flush()
        member_id = member.id
    engine = make_engine(runtime.settings.database_url, pool_size=24, max_overflow=0)

    def credit_or_debit(tx: Session, i: int, _all_have_read: object) -> str:
        points = 5 if i % 3 else -4  # 16 credits of 5, 8 debits of 4
        post_points(tx, member_id, points, kind="earn" if points > 0 else "spend", reason="race", channel="pos",
                    idempotency_key=f"race:{i}", at=START)  # fmt: skip
        return "ok"

    try:
        results = race(make_session_factory(engine), 24, credit_or_debit)
    finally:
        engine.dispose()

    refused = [result for result in results if result != "ok"]
    assert all(isinstance(result, str) for result in refused), refused  # refusals (too few points), no errors
    credits = sum(1 for i in range(24) if i % 3)
    debits = 24 - credits - len(refused)
    assert points_balance(session, member_id) == ledger_sum(session, member_id) == credits * 5 - debits * 4
    assert points_balance(session, member_id) >= 0


def test_ledger_entries_cannot_be_changed_or_deleted(runtime):
    with transaction(runtime.sessions) as tx:
        member = Member(member_number="M1", name="測試")
        tx.add(member)
        tx.flush()
        entry, _ = post_points(tx, member.id, 5, kind="earn", reason="x", channel="pos", idempotency_key="k", at=START)

    for attempt in (
        lambda tx: tx.execute(PointEntry.__table__.update().values(points=500)),
        lambda tx: tx.execute(PointEntry.__table__.delete()),
    ):
        with pytest.raises(Exception, match="append-only"), transaction(runtime.sessions) as tx:
            attempt(tx)
    with runtime.sessions() as tx:
        assert tx.get(PointEntry, entry.id).points == 5  # type: ignore[union-attr]
