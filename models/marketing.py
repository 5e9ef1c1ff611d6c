"""The marketer's console: saved segments (a named definition over members, re-evaluated whenever it is used)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
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


class CouponTemplateVersion(Base):
    """One saved state of a coupon template (version 1 is how it was before its first edit on the console): who
    changed it, when, and every setting as it then stood. Append-only."""

    __tablename__ = "coupon_template_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"), index=True)
    version: Mapped[int]
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_coupon_template_versions_template_id_version"),
    )
