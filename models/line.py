"""LINE users: everyone who has added the official account as a friend, member or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
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
    # Which rich menu the user should see ("guest" or "member"), and the LINE rich menu id last linked to them.
    rich_menu_state: Mapped[str] = mapped_column(String(16), default="guest")
    applied_rich_menu_id: Mapped[str | None] = mapped_column(String(64))

    # The few who blocked the account, on their own: every delivery checks its recipients against them.
    __table_args__ = (
        Index(
            "ix_line_users_blocked",
            "line_user_id",
            postgresql_where=text("is_blocked"),
            sqlite_where=text("is_blocked"),
        ),
    )

    @property
    def prefers_english(self) -> bool:
        return bool(self.language) and not str(self.language).lower().startswith("zh")


class LineFriendshipEvent(Base):
    """A LINE user's follow (first add or unblock) or unfollow (block), with LINE's time of the event: one row per
    event, written with the change to `line_users` in the same transaction. Append-only; `line_users` keeps only the
    latest state, this keeps every change (a campaign's "blocked since" counts recipients who blocked at any time
    after it started, even if they came back, once)."""

    __tablename__ = "line_friendship_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"))
    # follow | unfollow
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("kind IN ('follow', 'unfollow')", name="kind_known"),
        # One user's history, in order.
        Index("ix_line_friendship_events_line_user_id_at", "line_user_id", "at"),
        # The unfollows of a period (a campaign report's window), read from the index alone.
        Index(
            "ix_line_friendship_events_unfollows",
            "at",
            "line_user_id",
            postgresql_where=text("kind = 'unfollow'"),
            sqlite_where=text("kind = 'unfollow'"),
        ),
    )


class RichMenuDeployment(TimestampMixin, Base):
    """The LINE rich menu currently deployed for each menu (rich_menus/deploy.py): "guest" is LINE's default menu,
    "member" the member menu's first tab (what members are linked to), "member-more" its second tab."""

    __tablename__ = "rich_menu_deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), unique=True)
    line_rich_menu_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the menu's definition and image bytes: a deploy of the same menu changes nothing.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    deployed_at: Mapped[datetime | None]
