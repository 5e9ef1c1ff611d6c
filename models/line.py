"""LINE users: everyone who has added the official account as a friend, member or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class LineUser(TimestampMixin, Base):
    __tablename__ = "line_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    picture_url: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(16))
    is_blocked: Mapped[bool] = mapped_column(default=False)
    followed_at: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    # Which rich menu the user should see: "guest" or "member".
    rich_menu_state: Mapped[str] = mapped_column(String(16), default="guest")

    @property
    def prefers_english(self) -> bool:
        return bool(self.language) and not str(self.language).lower().startswith("zh")
