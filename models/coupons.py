"""Coupons: templates the brand defines, coupons issued to members (each with its own code), and redemptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy import false as sql_false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class CouponTemplate(TimestampMixin, Base):
    """What a coupon gives and under which limits."""

    __tablename__ = "coupon_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # amount_off (NT$ value) | percent_off (value %) | free_item (item) | bogo (item)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(default=0)
    item: Mapped[str | None] = mapped_column(String(100))
    min_spend: Mapped[int] = mapped_column(default=0)
    # Either a fixed window, or a number of days after issue (or both: the earlier end wins).
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    valid_days_after_issue: Mapped[int | None]
    total_limit: Mapped[int | None]
    per_member_limit: Mapped[int | None]
    # Cached count of coupons issued, so the total limit holds under concurrency (CHECK below).
    issued_count: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    # A coupon is redeemed with its member at the till (their scanned member code), unless this says otherwise.
    redeemable_without_member: Mapped[bool] = mapped_column(default=False, server_default=sql_false())

    __table_args__ = (
        CheckConstraint("kind IN ('amount_off', 'percent_off', 'free_item', 'bogo')", name="kind_known"),
        CheckConstraint("total_limit IS NULL OR issued_count <= total_limit", name="within_total_limit"),
    )


class Coupon(TimestampMixin, Base):
    """A coupon issued to one member, with its own code; redeemed at most once (undo aside)."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    # stamp_card | task | campaign | welcome | birthday | manual
    source: Mapped[str] = mapped_column(String(16))
    # What issued it, once: e.g. "stamp-card:42"; the same source issues one coupon.
    source_key: Mapped[str] = mapped_column(String(200), unique=True)
    valid_from: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    redeemed_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    # When the member was told the coupon's last day is near (said once per coupon).
    expiry_reminded_at: Mapped[datetime | None]


class CouponRedemption(TimestampMixin, Base):
    """A redemption (by a clerk scan or the POS API), and its undoing within the undo window."""

    __tablename__ = "coupon_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # clerk_scan | pos_api
    channel: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str | None] = mapped_column(String(100))
    undone_at: Mapped[datetime | None]
    undone_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    is_active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        # Exactly one live redemption per coupon, whatever the number of concurrent attempts.
        Index(
            "uq_coupon_redemptions_live",
            "coupon_id",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )
