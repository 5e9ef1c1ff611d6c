"""The brand's stores: the directory shoppers see under 門市資訊, and adding or changing a store (admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from bot.services.staff.accounts import CODE_PATTERN
from bot.services.staff.audit import record_change
from models import Staff, Store


@dataclass(frozen=True)
class StoreInfo:
    name: str
    address: str
    phone: str | None
    opening_hours: str | None


def store_directory(session: Session) -> list[StoreInfo]:
    """The brand's physical stores that have an address, in the order they were added (the online shop is not a
    place to visit)."""
    stores = session.scalars(
        select(Store).where(Store.is_online.is_(False), Store.address.is_not(None)).order_by(Store.id)
    )
    return [StoreInfo(s.name, s.address or "", s.phone, s.opening_hours) for s in stores]


@dataclass(frozen=True)
class StoreDraft:
    """What an admin fills in for a new store or a change."""

    code: str
    name: str
    is_online: bool
    address: str
    phone: str
    opening_hours: str


# (field, what the form calls it, longest allowed): the store's text fields besides its code.
STORE_TEXT_FIELDS = (
    ("name", "門市名稱", 100),
    ("address", "地址", 200),
    ("phone", "電話", 32),
    ("opening_hours", "營業時間", 100),
)


def all_stores(session: Session) -> list[Store]:
    """Every store, in the order they were added."""
    return list(session.scalars(select(Store).order_by(Store.id)))


def _checked(session: Session, draft: StoreDraft, *, existing: Store | None) -> dict[str, str | bool | None]:
    code = draft.code.strip()
    if not CODE_PATTERN.fullmatch(code):
        raise Refused(Reason.STORE_CODE_INVALID)
    values: dict[str, str | bool | None] = {"code": code, "is_online": draft.is_online}
    for field, label, length in STORE_TEXT_FIELDS:
        text = getattr(draft, field).strip()
        if len(text) > length or not text.isprintable() or (field == "name" and not text):
            raise Refused(Reason.STORE_FIELD_INVALID, field=label, length=length)
        values[field] = text or None
    taken = session.scalars(select(Store.id).where(func.upper(Store.code) == code.upper())).first()
    if taken is not None and (existing is None or taken != existing.id):
        raise Refused(Reason.STORE_CODE_TAKEN, store_code=code)
    return values


def create_store(session: Session, draft: StoreDraft, *, actor: Staff | None, at: datetime) -> Store:
    """Add a store (a physical one, or the online shop when `is_online`); audited."""
    values = _checked(session, draft, existing=None)
    store = Store(**values)
    session.add(store)
    session.flush()
    record_change(session, actor, "store.create", store, at, **values)
    return store


def update_store(session: Session, store: Store, draft: StoreDraft, *, actor: Staff | None, at: datetime) -> Store:
    """Change a store's code, name, address, phone, opening hours or whether it is the online shop; audited with
    what changed (nothing changed: nothing recorded)."""
    values = _checked(session, draft, existing=store)
    changes = {field: value for field, value in values.items() if getattr(store, field) != value}
    for field, value in changes.items():
        setattr(store, field, value)
    if changes:
        session.flush()
        record_change(session, actor, "store.update", store, at, **changes)
    return store
