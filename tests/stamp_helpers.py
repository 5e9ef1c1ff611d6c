"""Helpers for the stamp card tests: card templates and purchases, and a fixed clock passed as `at`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from models import Member, Purchase, StampCardTemplate, Store

TPE = ZoneInfo("Asia/Taipei")
# 12:00 on 1 June 2025 in Taipei.
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=TPE).astimezone(UTC)


def make_stamp_template(sessions: sessionmaker[Session], code: str = "BREAD10", **fields: Any) -> StampCardTemplate:
    """A card: one stamp per NT$100, 10 to fill, no daily limit, no expiry, no reward, unless `fields` say so."""
    values: dict[str, Any] = {
        "name": "麵包集點卡",
        "rule": "per_amount",
        "amount_per_stamp": 100,
        "stamps_to_fill": 10,
        **fields,
    }
    with transaction(sessions) as session:
        template = StampCardTemplate(code=code, **values)
        session.add(template)
        session.flush()
        return template


def make_purchase(sessions: sessionmaker[Session], member: Member, amount: int, at: datetime = T0) -> Purchase:
    """A purchase at the first store (the `shop` fixture opens it)."""
    with transaction(sessions) as session:
        purchase = Purchase(
            store_id=session.scalars(select(Store.id).order_by(Store.id)).first(),
            channel="pos",
            transaction_id=str(uuid.uuid4()),
            request_hash="0" * 64,
            member_id=member.id,
            amount=amount,
            response={},
            created_at=at,
        )
        session.add(purchase)
        session.flush()
        return purchase
