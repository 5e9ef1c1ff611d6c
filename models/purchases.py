"""Purchases and refunds from any channel (store POS, online shop), each recorded once by the channel's own id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, TimestampMixin


class Purchase(TimestampMixin, Base):
    """A purchase as the channel sent it; the same transaction id again answers the stored response."""

    __tablename__ = "purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    # pos | online
    channel: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str] = mapped_column(String(100))
    # SHA-256 of the canonical request: the same id with a different body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    amount: Mapped[int]
    items: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    points_earned: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (
        UniqueConstraint("store_id", "transaction_id", name="uq_purchases_store_id_transaction_id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"),
        # Segments aggregate a period's purchases per member (spend, visits, stores visited): on PostgreSQL an
        # index-only scan of the period (migration 0023).
        Index(
            "ix_purchases_created_at_member_id",
            "created_at",
            "member_id",
            postgresql_include=["amount", "refunded_amount", "store_id"],
        ),
        # Segments evaluated member by member: a member's purchases in a period, and a store's visitors in a period,
        # each an index-only scan on PostgreSQL (migration 0027; they serve plain member and store lookups too).
        Index(
            "ix_purchases_member_id_created_at",
            "member_id",
            "created_at",
            postgresql_include=["store_id", "amount", "refunded_amount"],
        ),
        Index("ix_purchases_store_id_created_at", "store_id", "created_at", postgresql_include=["member_id"]),
    )


class Refund(TimestampMixin, Base):
    """A (partial) refund of a purchase; its ledger entries reverse what the purchase earned."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), index=True)
    refund_id: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (UniqueConstraint("purchase_id", "refund_id", name="uq_refunds_purchase_id_refund_id"),)


class TierChange(TimestampMixin, Base):
    """A member's move between tiers, with the rolling 12-month spend that decided it."""

    __tablename__ = "tier_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    from_tier: Mapped[str] = mapped_column(String(20))
    to_tier: Mapped[str] = mapped_column(String(20))
    rolling_spend: Mapped[int]
    reason: Mapped[str] = mapped_column(String(100))
