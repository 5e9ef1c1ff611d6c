"""The rotating member barcode: each member's secret, the codes spent on value-changing scans, and the scan log."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class BarcodeKey(TimestampMixin, Base):
    """The member's barcode secret (base32, RFC 6238 style): codes are derived from it and the time step."""

    __tablename__ = "barcode_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))


class BarcodeUse(TimestampMixin, Base):
    """A code spent on a value-changing action: one per member, time step and generation, so a code earns or spends
    once; spending generation g of a step makes g + 1 the member's code for the rest of that step."""

    __tablename__ = "barcode_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    time_step: Mapped[int] = mapped_column(BigInteger)
    generation: Mapped[int] = mapped_column(default=0)
    purpose: Mapped[str] = mapped_column(String(32))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))

    __table_args__ = (
        UniqueConstraint("member_id", "time_step", "generation", name="uq_barcode_uses_member_id_time_step_generation"),
    )


class ScanLog(TimestampMixin, Base):
    """Every scan at a counter or POS, found or not: who looked up whom, from which store."""

    __tablename__ = "scan_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    intent: Mapped[str] = mapped_column(String(16))
    # ok | unknown | expired | used | forged | number_only
    result: Mapped[str] = mapped_column(String(16))
