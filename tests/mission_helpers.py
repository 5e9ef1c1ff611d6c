"""Helpers for the mission tests: missions written as the YAML section the brand loads, purchases through the
purchase service in a unit of work, and each member's progress as stored."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import transaction
from bot.services.barcode import codes as barcode
from bot.services.engagement.config import load_config
from bot.services.rewards.purchases import PurchaseRequest, record_purchase
from bot.services.rewards.refunds import RefundRequest, record_refund
from models import Member, Mission, MissionProgress, Store

TPE = ZoneInfo("Asia/Taipei")


def mission_yaml(
    code: str,
    kind: str,
    target: int = 1,
    *,
    reward: str = "points: 20",
    starts_on: date = date(2026, 1, 1),
    ends_on: date = date(2027, 12, 31),
    repeat: str = "none",
    extra: str = "",
) -> str:
    """One item of the `missions:` section."""
    lines = [
        f"  - code: {code}",
        f"    title: 任務 {code}",
        f"    kind: {kind}",
        f"    target: {target}",
        f"    starts_on: {starts_on.isoformat()}",
        f"    ends_on: {ends_on.isoformat()}",
        f"    repeat: {repeat}",
        "    reward:",
        f"      {reward}",
    ]
    return "\n".join(lines) + "\n" + extra


def load_missions(runtime: Any, *items: str, at: datetime | None = None) -> None:
    """Load a configuration holding only these missions."""
    with transaction(runtime.sessions) as tx:
        load_config(tx, "missions:\n" + "".join(items), at or datetime.now(TPE))


def mission_id(session: Session, code: str) -> int:
    return int(session.scalars(select(Mission.id).where(Mission.code == code)).one())


def progress(session: Session, member_id: int, code: str) -> list[tuple[date, int, bool]]:
    """(period start, value, completed) of each period of the member's progress on the mission, oldest first."""
    session.expire_all()
    rows = session.scalars(
        select(MissionProgress)
        .where(MissionProgress.member_id == member_id, MissionProgress.mission_id == mission_id(session, code))
        .order_by(MissionProgress.period_start)
    )
    return [(row.period_start, row.value, row.completed_at is not None) for row in rows]


def store_id(session: Session, code: str = "TPE01") -> int:
    return int(session.scalars(select(Store.id).where(Store.code == code)).one())


def online_store(runtime: Any) -> int:
    """The online shop (purchases by member number)."""
    with transaction(runtime.sessions) as tx:
        store = Store(code="WEB", name="網路商店", is_online=True)
        tx.add(store)
        tx.flush()
        return store.id


def buy(uow: Any, store: int, member_id: int, amount: int, *, online: bool = False) -> dict[str, Any]:
    """A purchase recorded by the purchase service as the POS API records it: at a store's till with the member's
    barcode scanned now (one purchase per member and minute), or by the online shop with the member number."""
    member = uow.session.get_one(Member, member_id)
    if online:
        request = PurchaseRequest(str(uuid.uuid4()), amount, channel="online", member_number=member.member_number)
    else:
        code = barcode.current_code(uow.session, member, uow.now).code
        request = PurchaseRequest(str(uuid.uuid4()), amount, member_code=code)
    return record_purchase(uow.session, store, request, at=uow.now, tz=uow.settings.tz).body


def refund(uow: Any, store: int, transaction_id: str, amount: int) -> dict[str, Any]:
    request = RefundRequest(transaction_id=transaction_id, refund_id=str(uuid.uuid4()), amount=amount)
    return record_refund(uow.session, store, request, at=uow.now, tz=uow.settings.tz).body
