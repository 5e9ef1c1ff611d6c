"""How LINE accounts get bound to memberships: audit trail, one-time codes, account-link nonces, bind codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class BindingAudit(TimestampMixin, Base):
    """Every bind and unbind, with the channel and, when a clerk was involved, which clerk and store."""

    __tablename__ = "binding_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), index=True)
    # bind | unbind
    action: Mapped[str] = mapped_column(String(8))
    # line_page (join page) | account_link | counter | api | chat
    channel: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))


class PhoneVerification(TimestampMixin, Base):
    """A one-time code sent by SMS to prove a phone number; only a hash of the code is kept."""

    __tablename__ = "phone_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20), index=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[datetime | None]


class LinkToken(TimestampMixin, Base):
    """An account-link token LINE issued for a user (valid 10 minutes, single use)."""

    __tablename__ = "link_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(255), unique=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), index=True)
    expires_at: Mapped[datetime]


class AccountLinkNonce(TimestampMixin, Base):
    """The nonce sent to LINE's account-link dialog: it names the member the LINE user proved to own."""

    __tablename__ = "account_link_nonces"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(255), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class BindCode(TimestampMixin, Base):
    """A short code a clerk gives a member at the counter; typed in the chat ("綁定 123456") within 10 minutes."""

    __tablename__ = "bind_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_line_user_id: Mapped[int | None] = mapped_column(ForeignKey("line_users.id"))
    # Only one live code may have a given value at a time.
    is_active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        Index(
            "uq_bind_codes_active_code",
            "code",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )


class ApiKey(TimestampMixin, Base):
    """A store's (or the online shop's) key to the POS API; only its SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the key may do, space-separated: scan (scans, purchases, refunds, stamps), coupons (list, redeem, undo),
    # members (bind codes, unbind, erase). bot/services/staff/api_keys.py reads and writes it.
    scopes: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]


class BindCodeFailure(TimestampMixin, Base):
    """A wrong bind code typed by a LINE user: five within 10 minutes and further tries are refused for a while."""

    __tablename__ = "bind_code_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), index=True)
