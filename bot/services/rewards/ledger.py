"""The points and stamps ledger: every change is an appended entry, and the cached balance moves with it.

An entry and its balance change are written together, in the caller's transaction, inside a SAVEPOINT:
- the balance moves with one statement that also serialises concurrent changes to one member (or card): a debit
  with a conditional UPDATE (`x = x - :needed WHERE … AND x >= :needed`), so a balance never goes negative, and a
  points credit with an upsert that creates the member's balance row when it is their first;
- the entry's idempotency key is unique: the same key again is the same effect, answered with the entry already
  written (`created` False), or refused with IdempotencyConflict when it names a different change.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.db import dialect_insert
from bot.services.membership.members import points_balance as points_balance
from bot.services.refusals import Reason, Refused
from models import MemberBalance, PointEntry, StampCard, StampEntry

__all__ = [
    "IdempotencyConflict",
    "InsufficientPoints",
    "InsufficientStamps",
    "ledger_sum",
    "points_balance",
    "post_points",
    "post_stamps",
]


class InsufficientPoints(Refused):
    """A debit larger than the balance: nothing was written."""

    def __init__(self, wanted: int) -> None:
        super().__init__(Reason.INSUFFICIENT_POINTS)
        self.wanted = wanted


class InsufficientStamps(Refused):
    """A stamp debit larger than the card holds: nothing was written."""

    def __init__(self, wanted: int) -> None:
        super().__init__(Reason.INSUFFICIENT_STAMPS)
        self.wanted = wanted


class IdempotencyConflict(Refused):
    """The idempotency key was already used for a different change."""

    def __init__(self, key: str) -> None:
        super().__init__(Reason.IDEMPOTENCY_CONFLICT)
        self.key = key


_balances: Table = MemberBalance.__table__  # type: ignore[assignment]


@functools.cache
def _credit_statement(dialect: str) -> Any:
    """Built once: a credit (or 0) creates the member's balance row or adds to it, in one statement."""
    insert = dialect_insert(dialect)(_balances).values(
        member_id=bindparam("member"), points=bindparam("delta"), updated_at=bindparam("at")
    )
    return insert.on_conflict_do_update(
        index_elements=[_balances.c.member_id],
        set_={"points": _balances.c.points + insert.excluded.points, "updated_at": insert.excluded.updated_at},
    ).returning(_balances.c.points)


# Built once: a debit moves the balance only if it covers it (a member with no balance row has none).
_DEBIT = (
    update(_balances)
    .where(_balances.c.member_id == bindparam("member"), _balances.c.points >= bindparam("needed"))
    .values(points=_balances.c.points - bindparam("needed"), updated_at=bindparam("at"))
    .returning(_balances.c.points)
)


def _move_balance(session: Session, member_id: int, delta: int, at: datetime) -> int:
    """Add `delta` to the cached balance unless that would make it negative; the new balance."""
    if delta >= 0:
        credit = _credit_statement(session.get_bind().dialect.name)
        return int(session.execute(credit, {"member": member_id, "delta": delta, "at": at}).scalar_one())
    balance = session.execute(_DEBIT, {"member": member_id, "needed": -delta, "at": at}).scalar_one_or_none()
    if balance is None:
        raise InsufficientPoints(-delta)
    return int(balance)


def _point_replay(entry: PointEntry, member_id: int, kind: str, points: int) -> tuple[PointEntry, bool]:
    if (entry.member_id, entry.kind, entry.points) != (member_id, kind, points):
        raise IdempotencyConflict(entry.idempotency_key)
    return entry, False


def _point_entry(session: Session, key: str) -> PointEntry | None:
    return session.scalars(select(PointEntry).where(PointEntry.idempotency_key == key)).one_or_none()


def post_points(
    session: Session,
    member_id: int,
    points: int,
    *,
    kind: str,
    reason: str,
    channel: str,
    idempotency_key: str,
    at: datetime,
    expires_at: datetime | None = None,
    purchase_id: int | None = None,
    reverses_entry_id: int | None = None,
    key_is_new: bool = False,
) -> tuple[PointEntry, bool]:
    """Append a points entry and move the member's cached balance with it; `(entry, created)`.

    A debit the balance cannot cover raises InsufficientPoints and writes nothing. The same idempotency key again
    answers `(the entry written the first time, False)` when it has the same member, kind and points, and raises
    IdempotencyConflict otherwise; this holds under concurrency too (the unique key decides, behind a SAVEPOINT).

    `key_is_new`: the caller knows no entry can hold this key yet (it names a row this transaction has just written,
    such as a new purchase), so a credit is written without the look-up and the SAVEPOINT; the unique key still
    stands behind it.
    """
    fresh_credit = key_is_new and points > 0
    existing = None if fresh_credit else _point_entry(session, idempotency_key)
    if existing is not None:
        return _point_replay(existing, member_id, kind, points)
    entry = PointEntry(
        member_id=member_id,
        kind=kind,
        points=points,
        reason=reason,
        channel=channel,
        idempotency_key=idempotency_key,
        expires_at=expires_at,
        purchase_id=purchase_id,
        reverses_entry_id=reverses_entry_id,
        created_at=at,
    )
    if fresh_credit:
        session.add(entry)
        session.flush()
        _move_balance(session, member_id, points, at)
        return entry, True
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
            _move_balance(session, member_id, points, at)
    except IntegrityError:
        existing = _point_entry(session, idempotency_key)
        if existing is None:
            raise
        return _point_replay(existing, member_id, kind, points)
    return entry, True


def _stamp_entry(session: Session, key: str) -> StampEntry | None:
    return session.scalars(select(StampEntry).where(StampEntry.idempotency_key == key)).one_or_none()


def _stamp_replay(entry: StampEntry, card_id: int, kind: str, stamps: int) -> tuple[StampEntry, bool]:
    if (entry.card_id, entry.kind, entry.stamps) != (card_id, kind, stamps):
        raise IdempotencyConflict(entry.idempotency_key)
    return entry, False


def post_stamps(
    session: Session,
    card: StampCard,
    stamps: int,
    *,
    kind: str,
    reason: str,
    channel: str,
    idempotency_key: str,
    at: datetime,
    local_day: date,
    purchase_id: int | None = None,
    staff_id: int | None = None,
) -> tuple[StampEntry, bool]:
    """Append a stamp entry and move `card.stamps` with it; `(entry, created)`, with post_points' rules.

    A debit the card cannot cover raises InsufficientStamps and writes nothing. `card.stamps` is refreshed to the
    value in the database.
    """
    existing = _stamp_entry(session, idempotency_key)
    if existing is not None:
        return _stamp_replay(existing, card.id, kind, stamps)
    entry = StampEntry(
        card_id=card.id,
        member_id=card.member_id,
        kind=kind,
        stamps=stamps,
        reason=reason,
        channel=channel,
        idempotency_key=idempotency_key,
        local_day=local_day,
        purchase_id=purchase_id,
        staff_id=staff_id,
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
            statement = (
                update(StampCard)
                .where(StampCard.id == card.id, StampCard.stamps + stamps >= 0)
                .values(stamps=StampCard.stamps + stamps)
                .returning(StampCard.stamps)
                .execution_options(synchronize_session=False)
            )
            total = session.execute(statement).scalar_one_or_none()
            if total is None:
                raise InsufficientStamps(-stamps)
    except IntegrityError:
        existing = _stamp_entry(session, idempotency_key)
        if existing is None:
            raise
        return _stamp_replay(existing, card.id, kind, stamps)
    set_committed_value(card, "stamps", total)
    return entry, True


def ledger_sum(session: Session, member_id: int) -> int:
    """The sum of the member's points entries: what the cached balance must always equal."""
    total = session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(PointEntry.member_id == member_id)
    )
    return int(total or 0)
