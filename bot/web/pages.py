"""What the shopper's pages (join, bind) share: the signed link, CSRF, bilingual notices and rendering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import render_template
from flask_wtf.csrf import ValidationError, generate_csrf, validate_csrf
from sqlalchemy.orm import Session

from bot.i18n import _
from bot.links import LinkInvalid, read_link
from bot.refusal_texts import text_for
from bot.services.membership.line_users import find_line_user
from bot.services.membership.members import member_of
from bot.services.refusals import Reason, Refused
from bot.web import runtime
from models import LineUser

BACK_TO_LINE_URL = "https://line.me/R/"

NOT_A_FRIEND = "請先在 LINE 加入官方帳號好友，再開啟這個連結"
ALREADY_A_MEMBER = "您的 LINE 帳號已綁定會員，不需要再加入或綁定"
FORM_EXPIRED = "頁面已逾時，請重新送出"

# The HTTP status a page answers a service's refusal with; any other reason is a conflict (409).
REFUSAL_STATUS: dict[Reason, int] = {
    Reason.TOO_MANY_CODES_FOR_PHONE: 429,
    Reason.TOO_MANY_CODES_FOR_USER: 429,
    Reason.SMS_CODE_FORMAT: 422,
    Reason.SMS_CODE_WRONG: 422,
    Reason.SMS_CODE_DEAD: 422,
    Reason.SMS_CODE_EXPIRED: 422,
    Reason.SMS_CODE_USED: 422,
    Reason.SMS_CODE_UNKNOWN: 422,
    Reason.LINK_TOKEN_UNKNOWN: 410,
    Reason.LINK_TOKEN_SPENT: 410,
}


@dataclass(frozen=True)
class Notice:
    """A message shown in zh-TW with its English under it."""

    zh: str
    en: str


def notice(msgid: str, **params: Any) -> Notice:
    """A zh-TW msgid (with its placeholders filled) in both languages."""
    return Notice(_(msgid, "zh-TW", **params), _(msgid, "en", **params))


def refusal_notice(refused: Refused) -> Notice:
    """A service's refusal in both languages."""
    return Notice(text_for(refused, "zh-TW"), text_for(refused, "en"))


def refusal_status(refused: Refused) -> int:
    """The HTTP status a page answers a service's refusal with."""
    return REFUSAL_STATUS.get(refused.reason, 409)


class PageRefused(Exception):
    """The page cannot go on: show `notice` with this HTTP status."""

    def __init__(self, status: int, notice: Notice) -> None:
        super().__init__(notice.zh)
        self.status = status
        self.notice = notice

    @classmethod
    def because(cls, refused: Refused) -> PageRefused:
        """The dead end a service's refusal leads to."""
        return cls(refusal_status(refused), refusal_notice(refused))


def now() -> datetime:
    """The program's clock, read once per request by the views that need it."""
    return runtime().clock.now()


def read_page_link(purpose: str, token: str) -> dict[str, Any]:
    """The payload of the page's signed link; a forged, altered or expired one is refused (400)."""
    try:
        return read_link(runtime().settings, purpose, token)
    except LinkInvalid as exc:
        raise PageRefused(400, notice(exc.message)) from exc


def shopper(session: Session, line_user_id: str) -> LineUser:
    """The LINE user the page is for: a friend of the account with no membership yet."""
    line_user = find_line_user(session, line_user_id)
    if line_user is None:
        raise PageRefused(404, notice(NOT_A_FRIEND))
    if member_of(session, line_user) is not None:
        raise PageRefused(409, notice(ALREADY_A_MEMBER))
    return line_user


def csrf_is_valid(token: str | None) -> bool:
    """Whether a posted form carries the CSRF token this browser was given (Flask-WTF, signed and timed)."""
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page with the brand, a fresh CSRF token and the way back to LINE."""
    html = render_template(
        template,
        brand=runtime().settings.brand_name,
        csrf_token=generate_csrf(),
        back_to_line=BACK_TO_LINE_URL,
        **context,
    )
    return html, status


def refused_page(refusal: PageRefused) -> tuple[str, int]:
    """The dead-end page: what went wrong, in both languages, and a link back to LINE."""
    return render("members/message.html", refusal.status, notice=refusal.notice)
