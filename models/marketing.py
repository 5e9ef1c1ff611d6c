"""The marketer's console: saved segments (a named definition over members, re-evaluated whenever it is used)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, TimestampMixin


class Segment(TimestampMixin, Base):
    """A saved segment: its name and its definition (the validated JSON tree of docs/console.md)."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime]
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
