"""Test data: the one place tests make members, stores and staff."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.services.membership import binding
from bot.services.membership.line_users import find_line_user
from bot.services.rewards.ledger import post_points
from bot.services.staff.accounts import hash_password
from models import LineUser, Member, Staff, Store


def _next_member_number(session: Session) -> str:
    """The lowest of M000001, M000002, ... that no member has yet (so a test's first member is M000001)."""
    taken = set(session.scalars(select(Member.member_number)))
    n = 1
    while f"M{n:06d}" in taken:
        n += 1
    return f"M{n:06d}"


def make_member(
    sessions: sessionmaker[Session],
    *,
    member_number: str | None = None,
    name: str | None = "林怡君",
    phone: str | None = "+886912345678",
    birthday: date | None = date(1990, 3, 14),
    tier: str = "regular",
    source: str = "line",
    points: int = 0,
    line_user: LineUser | None = None,
    bound_to: str | None = None,
) -> Member:
    """A member, stored directly (no phone check: `name`, `phone`, `birthday` may be None, as after erasure).

    `source` is the model's default ("line"). `member_number` defaults to the lowest free "M00000n" (M000001 for a
    test's first member). `points` are posted as a POS purchase. `line_user` (a stored LineUser) is attached as-is,
    with no binding event, as data imported already bound; `bound_to` (the LINE user id of someone who followed)
    binds through the binding service, as a web page or the POS API would (audit entry, rich menu state, fact).
    """
    assert line_user is None or bound_to is None, "attach a LINE user or bind one, not both"
    with transaction(sessions) as session:
        number = member_number if member_number is not None else _next_member_number(session)
        member = Member(
            member_number=number,
            name=name,
            phone_e164=phone,
            birthday=birthday,
            tier=tier,
            source=source,
            line_user_id=line_user.id if line_user else None,
        )
        session.add(member)
        session.flush()
        if points:
            post_points(
                session,
                member.id,
                points,
                kind="earn",
                reason="消費",
                channel="pos",
                idempotency_key=f"test:{number}:{uuid.uuid4()}",
                at=datetime.now(UTC),
            )
        if bound_to is not None:
            found = find_line_user(session, bound_to)
            assert found is not None, "follow first so the LINE user exists"
            binding.bind(session, member, found, channel="api", at=datetime.now(UTC))
        return member


STAFF_PASSWORD = "counter-pass-123"


def make_store(sessions: sessionmaker[Session], *, code: str = "TPE01", name: str = "台北信義店") -> Store:
    """A physical store (the one with this code, when it is already there)."""
    with transaction(sessions) as session:
        store = session.scalars(select(Store).where(Store.code == code)).one_or_none()
        if store is None:
            store = Store(code=code, name=name)
            session.add(store)
            session.flush()
        session.expunge(store)
    return store


def make_staff(
    sessions: sessionmaker[Session],
    *,
    code: str = "C001",
    name: str = "王小美",
    role: str = "clerk",
    store: Store | None = None,
    password: str | None = STAFF_PASSWORD,
    active: bool = True,
) -> Staff:
    """A staff member who signs in with `code` and `password` (none: known to the POS API only). Clerks and
    managers work at `store` (TPE01 unless told)."""
    if store is None and role in ("clerk", "manager"):
        store = make_store(sessions)
    with transaction(sessions) as session:
        staff = Staff(
            code=code,
            name=name,
            role=role,
            store_id=store.id if store else None,
            is_active=active,
            password_hash=hash_password(password) if password else None,
        )
        session.add(staff)
        session.flush()
        session.expunge(staff)
    return staff
