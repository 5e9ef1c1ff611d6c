"""The marketer's console: campaigns (a message sent to a segment, now or at a set time) and their recipients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, TimestampMixin


class Campaign(TimestampMixin, Base):
    """A marketing message to a segment: its variants (A, and optionally B), the shares kept as a holdout and sent
    variant B, an optional coupon issued to each recipient, and when it goes out.

    status: [pending_approval ->] scheduled -> started; cancelled before it starts. A started campaign is prepared in
    steps, each its own transaction, that a killed worker resumes: its audience written as recipient rows
    (`audience_size` once all are), then its outbox chunks (`chunks_written` so far, their retry keys derived from the
    number), `prepared_at` once every chunk is written; `progress_at` is the last step's time."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    # One or two message specs ({"kind": "text", "text": ...} or {"kind": "card", "title", "body", ...}).
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # Percent of the audience kept from sending (the holdout), and percent of the rest sent variant B.
    holdout_percent: Mapped[int] = mapped_column(default=0)
    b_percent: Mapped[int] = mapped_column(default=0)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    send_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    cancelled_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # A campaign whose audience was over CAMPAIGN_APPROVAL_ABOVE waits (pending_approval) for a second marketer.
    approved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    approved_at: Mapped[datetime | None]
    audience_size: Mapped[int | None]
    chunks_written: Mapped[int] = mapped_column(default=0, server_default="0")
    prepared_at: Mapped[datetime | None]
    progress_at: Mapped[datetime | None]
    # How it goes out: "multicast" (outbox chunks of 500, personal) or "narrowcast" (an uploaded audience per variant,
    # CampaignNarrowcast). A start LINE would refuse (an audience under 50) records why here and sends nothing.
    delivery: Mapped[str] = mapped_column(String(16), default="multicast", server_default="multicast")
    refused_reason: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_campaigns_status_send_at", "status", "send_at"),
        CheckConstraint("chunks_written >= 0", name="chunks_written_not_negative"),
        CheckConstraint("delivery IN ('multicast', 'narrowcast')", name="delivery_known"),
    )


class CampaignNarrowcast(TimestampMixin, Base):
    """One variant (cohort A or B) of a narrowcast campaign: its audience uploaded to LINE in steps (`uploaded` ids
    so far, after `audience_group_id` is known), then one narrowcast with `retry_key` (fixed when the row is written,
    so a resumed worker repeats it and LINE answers 409), its `request_id`, and the progress LINE last reported."""

    __tablename__ = "campaign_narrowcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    cohort: Mapped[str] = mapped_column(String(16))
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    recipients: Mapped[int]
    # Members of the cohort up to this id have been given their coupon (or were refused one).
    coupons_up_to: Mapped[int] = mapped_column(default=0, server_default="0")
    audience_group_id: Mapped[int | None] = mapped_column(BigInteger)
    uploaded: Mapped[int] = mapped_column(default=0, server_default="0")
    request_id: Mapped[str | None] = mapped_column(String(64))
    phase: Mapped[str | None] = mapped_column(String(16))
    success_count: Mapped[int | None]
    failure_count: Mapped[int | None]
    target_count: Mapped[int | None]
    error_code: Mapped[int | None]
    failed_description: Mapped[str | None] = mapped_column(String(500))
    checked_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("campaign_id", "cohort"),
        CheckConstraint("cohort IN ('A', 'B')", name="cohort_sent"),
        CheckConstraint("uploaded >= 0 AND uploaded <= recipients", name="uploaded_range"),
        CheckConstraint("phase IS NULL OR phase IN ('waiting', 'sending', 'succeeded', 'failed')", name="phase_known"),
    )


class CampaignRecipient(TimestampMixin, Base):
    """One member of a started campaign's audience, once: the cohort drawn for them (A, B, holdout, or capped: over
    the weekly cap of marketing pushes), the outbox row that carries their message and the coupon issued to them."""

    __tablename__ = "campaign_recipients"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    cohort: Mapped[str] = mapped_column(String(16))
    outbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("outbound_messages.id"), index=True)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))

    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id"),
        # The weekly cap counts a member's recent marketing pushes.
        Index("ix_campaign_recipients_member_id_created_at", "member_id", "created_at"),
    )
