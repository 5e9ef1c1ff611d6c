"""The store directory shoppers see under 門市資訊."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Store


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
