"""The ledger: points and stamps are append-only entries; a balance is their sum.

Database triggers (migration 0005) refuse UPDATE and DELETE on the entry tables. A cached balance row per member
(and per stamp card) is changed in the same transaction as each entry, with a CHECK that it never goes negative;
the conditional UPDATE on it also serialises concurrent changes to one member.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin

ENTRY_KINDS = ("earn", "spend", "expire", "reverse", "adjust")
CHANNELS = ("pos", "online", "line_task", "campaign", "clerk", "import", "system")


class PointEntry(TimestampMixin, Base):
    """One change to a member's points. Never updated or deleted; a correction is another entry."""

    __tablename__ = "point_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # earn | spend | expire | reverse | adjust
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    # pos | online | line_task | campaign | clerk | import | system
    channel: Mapped[str] = mapped_column(String(16))
    # The same key twice is one effect: the unique constraint refuses the second.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # Earned points expire (end of the year after earning); None for entries that never expire or debits.
    expires_at: Mapped[datetime | None]
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    # A reversing entry names the entry it reverses.
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("point_entries.id"))


class MemberBalance(Base):
    """The cached points balance of a member: always equal to the sum of their entries, never negative."""

    __tablename__ = "member_balances"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("points >= 0", name="points_not_negative"),)


class StampCardTemplate(TimestampMixin, Base):
    """A stamp card the brand runs: how stamps are earned, how many fill it, and what a full card gives."""

    __tablename__ = "stamp_card_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # per_amount: one stamp per `amount_per_stamp` NT$ spent; per_visit: one stamp per purchase or clerk stamp.
    rule: Mapped[str] = mapped_column(String(16))
    amount_per_stamp: Mapped[int | None]
    stamps_to_fill: Mapped[int]
    # At most this many stamps per member per brand-local day (None: no limit).
    daily_limit: Mapped[int | None]
    # A card expires this many days after its first stamp (None: never).
    valid_days: Mapped[int | None]
    reward_coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    is_active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint("stamps_to_fill > 0", name="stamps_to_fill_positive"),
        CheckConstraint("rule IN ('per_amount', 'per_visit')", name="rule_known"),
    )


class StampCard(TimestampMixin, Base):
    """One member's card of a template; at most one open (not yet filled) card per member and template."""

    __tablename__ = "stamp_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("stamp_card_templates.id"))
    # Cached: the sum of the card's stamp entries.
    stamps: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None]
    filled_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    reward_coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    is_open: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint("stamps >= 0", name="stamps_not_negative"),
        Index(
            "uq_stamp_cards_open_card",
            "member_id",
            "template_id",
            unique=True,
            postgresql_where=text("is_open"),
            sqlite_where=text("is_open"),
        ),
    )


class StampEntry(TimestampMixin, Base):
    """One change to a stamp card. Never updated or deleted."""

    __tablename__ = "stamp_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("stamp_cards.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    stamps: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # The brand-local calendar day of the entry, for per-day limits.
    local_day: Mapped[date]
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
