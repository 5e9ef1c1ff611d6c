"""Members of the brand's programme, shared by the online shop and the stores."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin
from models.line import LineUser
from models.store import Staff, Store


class Member(TimestampMixin, Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    # E.164 (+886912345678): one phone number, one member.
    phone_e164: Mapped[str | None] = mapped_column(String(20), unique=True)
    birthday: Mapped[date | None]
    tier: Mapped[str] = mapped_column(String(20), default="regular")
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    # One LINE account to one membership, and the reverse: the unique constraint makes it so.
    line_user_id: Mapped[int | None] = mapped_column(ForeignKey("line_users.id"), unique=True)
    referred_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # Where the member first joined: pos_import, line, counter, api.
    source: Mapped[str] = mapped_column(String(16), default="line")
    # The Taiwan e-invoice mobile barcode carrier (手機條碼): "/" and 7 of 0-9 A-Z . + -, shown on the live card.
    einvoice_carrier: Mapped[str | None] = mapped_column(String(8))
    erased_at: Mapped[datetime | None]

    line_user: Mapped[LineUser | None] = relationship()
    home_store: Mapped[Store | None] = relationship()
    referred_by: Mapped[Staff | None] = relationship()


class Consent(TimestampMixin, Base):
    """A member's consent to the terms and privacy notice (Taiwan PDPA), with the versions shown."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    terms_version: Mapped[str] = mapped_column(String(32))
    privacy_version: Mapped[str] = mapped_column(String(32))
    marketing_opt_in: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str] = mapped_column(String(16))

    # A member's latest consent (the marketing test of segments) is one index-only probe (migration 0027).
    __table_args__ = (Index("ix_consents_member_id_id", "member_id", "id", postgresql_include=["marketing_opt_in"]),)


class ErasureRequest(TimestampMixin, Base):
    """A member's request to delete their personal data, and when it was carried out."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # Where and by whom a request made at a counter (the POS API) was taken; none for the chat's own.
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    completed_at: Mapped[datetime | None]


class MemberImport(TimestampMixin, Base):
    """A POS export applied by `omo members import`: the same file (by SHA-256) is applied once."""

    __tablename__ = "member_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int]
