"""What an event handler gets: the transaction, the LINE user, their language and the bot's settings."""

from __future__ import annotations

from dataclasses import dataclass

from linebot.v3.messaging import Message
from sqlalchemy.orm import Session

from bot.line_client import LineClient
from bot.settings import Settings
from models import LineUser


@dataclass
class HandlerContext:
    session: Session
    settings: Settings
    line: LineClient
    line_user: LineUser | None
    language: str


Replies = list[Message]
