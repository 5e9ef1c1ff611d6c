"""Reminders sent to members, recorded so that each is sent once."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class PointExpiryReminder(TimestampMixin, Base):
    """ "Your points expire on …" sent to a member: once per member and expiry date, whatever the job's retries."""

    __tablename__ = "point_expiry_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # The brand-local last day on which the points can be used.
    expires_on: Mapped[date]
    points: Mapped[int]

    __table_args__ = (
        UniqueConstraint("member_id", "expires_on", name="uq_point_expiry_reminders_member_id_expires_on"),
    )
