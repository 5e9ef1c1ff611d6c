"""Demo data for the quickstart: a store, two clerks and a few members (idempotent)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.rewards.coupon_rules import seed_demo_coupons
from bot.services.rewards.stamps import seed_demo_stamp_cards
from models import Member, Staff, Store

DEMO_STORES = (("TPE01", "台北信義店", False), ("ONLINE", "網路商店", True))
DEMO_STAFF = (("C001", "TPE01", "王小美"), ("C002", "TPE01", "陳大文"))
DEMO_MEMBERS = (
    ("M000001", "林怡君", "+886912345678", date(1990, 3, 14)),
    ("M000002", "張家豪", "+886922333444", date(1985, 11, 2)),
)


def seed_demo_data(session: Session) -> int:
    """Add the demo rows that are missing; returns how many were added."""
    added = 0
    stores: dict[str, Store] = {}
    for code, name, is_online in DEMO_STORES:
        store = session.scalars(select(Store).where(Store.code == code)).one_or_none()
        if store is None:
            store = Store(code=code, name=name, is_online=is_online)
            session.add(store)
            added += 1
        stores[code] = store
    session.flush()
    for code, store_code, name in DEMO_STAFF:
        if session.scalars(select(Staff).where(Staff.code == code)).one_or_none() is None:
            session.add(Staff(code=code, name=name, store=stores[store_code]))
            added += 1
    for number, name, phone, birthday in DEMO_MEMBERS:
        if session.scalars(select(Member).where(Member.member_number == number)).one_or_none() is None:
            session.add(
                Member(
                    member_number=number,
                    name=name,
                    phone_e164=phone,
                    birthday=birthday,
                    home_store=stores["TPE01"],
                )
            )
            added += 1
    session.flush()
    added += seed_demo_coupons(session)
    added += seed_demo_stamp_cards(session)
    return added
