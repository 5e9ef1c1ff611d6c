"""Physical stores, the staff who work the counters and run the programme, and what staff changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, JSONType, TimestampMixin

# admin: everything; manager: their store's counter, staff and reports; clerk: the counter; marketer: the console.
STAFF_ROLES = ("admin", "manager", "clerk", "marketer")


class Store(TimestampMixin, Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    is_online: Mapped[bool] = mapped_column(default=False)
    # What shoppers see under 門市資訊 (all optional; a store without an address is not listed there).
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    opening_hours: Mapped[str | None] = mapped_column(String(100))

    staff: Mapped[list[Staff]] = relationship(back_populates="store")


class Staff(TimestampMixin, Base):
    """A person who serves or runs the programme. `code` is their staff number, also how they sign in.

    Admins and marketers may belong to no store; managers and clerks work at one.
    """

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'manager', 'clerk', 'marketer')", name="role_known"),
        CheckConstraint("role IN ('admin', 'marketer') OR store_id IS NOT NULL", name="store_staff_have_store"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20), default="clerk")
    is_active: Mapped[bool] = mapped_column(default=True)
    # None: this person cannot sign in to the back office (a clerk known to the POS API only).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Raised when the password changes or the account is deactivated: every session signed before is void.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    last_login_at: Mapped[datetime | None]

    store: Mapped[Store | None] = relationship(back_populates="staff")


class StaffAudit(Base):
    """One change made by staff (or by the `omo` command when `actor_staff_id` is None): append-only."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[int | None]
    # What changed (field names and new values; never a password, key or token).
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
