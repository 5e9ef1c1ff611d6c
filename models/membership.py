"""Members of the brand's programme, shared by the online shop and the stores."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin
from models.line import LineUser
from models.store import Staff, Store


class Member(TimestampMixin, Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    phone_e164: Mapped[str | None] = mapped_column(String(20), unique=True)
    birthday: Mapped[date | None]
    tier: Mapped[str] = mapped_column(String(20), default="regular")
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    # One LINE account to one membership, and the reverse: the unique constraint makes it so.
    line_user_id: Mapped[int | None] = mapped_column(ForeignKey("line_users.id"), unique=True)
    referred_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    line_user: Mapped[LineUser | None] = relationship()
    home_store: Mapped[Store | None] = relationship()
    referred_by: Mapped[Staff | None] = relationship()
