"""What an event handler gets: the unit of work (session and the moment), the LINE user, their language, the
bot's settings, and for a follow event the profile LINE gave before the transaction began."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linebot.v3.messaging import Message
from sqlalchemy.orm import Session

from bot.line_client import Profile
from bot.services.membership.members import is_bound
from bot.services.rate_limits import RateLimiter
from bot.settings import Settings
from bot.uow import UnitOfWork
from models import LineUser


@dataclass
class HandlerContext:
    uow: UnitOfWork
    line_user: LineUser | None
    language: str
    profile: Profile | None = None

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def now(self) -> datetime:
        return self.uow.now

    @property
    def settings(self) -> Settings:
        return self.uow.settings

    @property
    def limiter(self) -> RateLimiter:
        return self.uow.limiter


Replies = list[Message]


def is_member(ctx: HandlerContext) -> bool:
    """Whether the LINE user writing is a member (menus offer them their profile instead of joining)."""
    return is_bound(ctx.session, ctx.line_user)
