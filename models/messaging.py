"""The webhook inbox (each LINE event once) and the outbox of messages to send after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, TimestampMixin


class WebhookEvent(TimestampMixin, Base):
    """One LINE webhook event, stored before the webhook answers 200; `webhook_event_id` is unique."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    line_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    occurred_at: Mapped[datetime]
    is_redelivery: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # pending -> done | skipped | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_webhook_events_status_created_at", "status", "created_at"),)


class OutboundMessage(TimestampMixin, Base):
    """Messages the bot owes someone; written in the same transaction as the change that caused them."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    # reply | push | multicast | broadcast
    kind: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[str]] = mapped_column(JSONType, default=list)
    reply_token: Mapped[str | None] = mapped_column(String(255))
    reply_token_expires_at: Mapped[datetime | None]
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # Generated before the first attempt so every retry carries the same X-Line-Retry-Key.
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    webhook_event_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    # pending -> sending -> sent | failed | dropped | unknown (a reply whose outcome LINE cannot tell: never re-sent)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    delivered_via: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # A pending message waits for this time before its next attempt (backoff while LINE fails); None: at once.
    next_attempt_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbound_messages_status_created_at", "status", "created_at"),
        Index("ix_outbound_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )
