"""The points ledger: append-only entries; a balance is their sum."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class PointEntry(TimestampMixin, Base):
    """One change to a member's points. Never updated or deleted; a correction is another entry."""

    __tablename__ = "point_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # earn | spend | expire | reverse | adjust
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    # pos | online | line_task | campaign | clerk | import
    channel: Mapped[str] = mapped_column(String(16))
    # The same key twice is one effect: the unique constraint refuses the second.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
