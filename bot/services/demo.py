"""Demo data for the quickstart: stores, staff who can sign in, a few members (idempotent)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.engagement.config import load_config
from bot.services.rewards.coupon_rules import seed_demo_coupons
from bot.services.rewards.stamps import seed_demo_stamp_cards
from bot.services.staff.accounts import hash_password
from bot.settings import PROJECT_ROOT
from models import Member, Staff, Store

DEMO_ENGAGEMENT = PROJECT_ROOT / "config" / "engagement.example.yaml"

# (code, name, online, address, phone, opening hours)
DEMO_STORES = (
    ("TPE01", "台北信義店", False, "台北市信義區松仁路 100 號 1 樓", "02-2723-0000", "每日 08:00–21:00"),
    ("TCH01", "台中勤美店", False, "台中市西區公益路 68 號", "04-2325-0000", "每日 09:00–21:30"),
    ("ONLINE", "網路商店", True, None, None, None),
)
# (staff number, store, name, role, password): the quickstart's back-office logins, listed in the README. Demo data
# only: never seed a deployment that real staff use.
DEMO_STAFF = (
    ("ADMIN", None, "系統管理員", "admin", "demo-admin-pass"),
    ("M001", "TPE01", "林店長", "manager", "demo-manager-pass"),
    ("C001", "TPE01", "王小美", "clerk", "demo-clerk-pass"),
    ("C002", "TPE01", "陳大文", "clerk", "demo-clerk-pass"),
    ("K001", None, "行銷小組", "marketer", "demo-marketer-pass"),
)
DEMO_MEMBERS = (
    ("M000001", "林怡君", "+886912345678", date(1990, 3, 14)),
    ("M000002", "張家豪", "+886922333444", date(1985, 11, 2)),
)


def seed_demo_data(session: Session) -> int:
    """Add the demo rows that are missing; returns how many were added."""
    added = 0
    stores: dict[str, Store] = {}
    for code, name, is_online, address, phone, hours in DEMO_STORES:
        store = session.scalars(select(Store).where(Store.code == code)).one_or_none()
        if store is None:
            store = Store(code=code, name=name, is_online=is_online)
            session.add(store)
            added += 1
        if store.address is None and address is not None:  # demo stores from before stores had an address
            store.address, store.phone, store.opening_hours = address, phone, hours
        stores[code] = store
    session.flush()
    for code, store_code, name, role, password in DEMO_STAFF:
        staff = session.scalars(select(Staff).where(Staff.code == code)).one_or_none()
        if staff is None:
            store = stores[store_code] if store_code else None
            session.add(Staff(code=code, name=name, role=role, store=store, password_hash=hash_password(password)))
            added += 1
        elif staff.password_hash is None:  # demo clerks seeded before staff could sign in
            staff.password_hash = hash_password(password)
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


def seed_demo_engagement(session: Session, now: datetime) -> int:
    """Load the example engagement configuration (check-in milestones, the lucky draw, the scratch card); it names
    the demo coupons and stamp cards, so it runs after `seed_demo_data`. The rows changed (0 when already loaded)."""
    return load_config(session, DEMO_ENGAGEMENT.read_text(encoding="utf-8"), now).total
