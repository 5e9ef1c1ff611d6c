"""Helpers for the join and bind page tests: friends, signed links, form fields, SMS codes, the live server."""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from bot.db import transaction
from bot.links import bind_url
from bot.runtime import Runtime
from bot.services.membership.account_link import record_link_token
from bot.services.membership.line_users import find_line_user
from bot.sms import wait_for_background_sends
from models import LineUser, Member
from tests.helpers import texts

# Local addresses must not go through a proxy configured for the outside world.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def friend(platform: Any, name: str = "林小姐", language: str = "zh-TW") -> str:
    """A LINE user who has added the official account (the follow is handled before this returns)."""
    user = platform.create_user(name, language=language)
    platform.follow(user)
    return str(user)


def path_of(url: str) -> str:
    """The path and query of an absolute link, for the Flask test client (which keeps cookies per host)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def field(page: str, name: str, default: str | None = None) -> str:
    """The value of a form's input called `name` in a rendered page (or `default` when there is none)."""
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    if match is None and default is not None:
        return default
    assert match, f"no {name} field on the page"
    return html.unescape(match.group(1))


def link(page: str, testid: str) -> str:
    """The address of the link marked data-testid=`testid` in a rendered page."""
    match = re.search(rf'href="([^"]+)" data-testid="{re.escape(testid)}"', page)
    assert match, f"no {testid} link on the page"
    return html.unescape(match.group(1))


def text_of(response: Any) -> str:
    return str(response.get_data(as_text=True))


def bind_page_url(runtime: Runtime, user: str, *, issued_at: datetime | None = None) -> str:
    """What the chat's "綁定既有會員" button opens: a LINE link token, recorded, inside a signed page link."""
    link_token = runtime.line.issue_link_token(user)
    with transaction(runtime.sessions) as session:
        line_user = find_line_user(session, user)
        assert line_user is not None, "follow first"
        record_link_token(session, line_user, link_token, issued_at or datetime.now(UTC))
    return bind_url(runtime.settings, user, link_token)


def sms_codes(app: Any, phone: str) -> list[str]:
    """The one-time codes the development SMS backend 'sent' to this phone, oldest first (once the sender threads
    have sent what they were given)."""
    wait_for_background_sends()
    return [re.findall(r"\d{6}", text)[0] for to, text in app.extensions["sms"].messages() if to == phone]


def fetch(url: str) -> tuple[int, str]:
    """GET through the live server, as the shopper's browser follows a redirect."""
    try:
        with _OPENER.open(url, timeout=10) as response:
            return int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8")


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `condition()` is truthy (LINE's dialog sends its webhook in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def code_step_form(page: str, code: str, step: str | None = None) -> dict[str, str]:
    """What the SMS code step of the join and bind pages posts: the page's hidden fields and the typed code."""
    return {
        "t": field(page, "t"),
        "v": step or field(page, "v"),
        "masked": field(page, "masked", default=""),
        "csrf_token": field(page, "csrf_token"),
        "code": code,
    }


class Shopper:
    """One LINE user going through the bind page in their own browser (a test client keeps its cookies)."""

    def __init__(self, app, runtime, platform, name="王大明"):
        self.app, self.platform = app, platform
        self.user = friend(platform, name)
        self.browser = app.test_client()
        self.page_url = bind_page_url(runtime, self.user)
        self.page = ""

    def open(self, url=None):
        answer = self.browser.get(path_of(url or self.page_url))
        self.page = text_of(answer)
        return answer

    def ask_code(self, phone="0912-345-678"):
        if not self.page:
            self.open()
        form = {"t": field(self.page, "t"), "csrf_token": field(self.page, "csrf_token"), "phone": phone}
        answer = self.browser.post("/members/bind/code", data=form)
        self.page = text_of(answer)
        return answer

    def enter(self, code, step=None):
        answer = self.browser.post("/members/bind/verify", data=code_step_form(self.page, code, step))
        if answer.status_code != 302:
            self.page = text_of(answer)
        return answer

    def chat(self):
        return texts(self.platform.bot_messages(self.user))


def nonce_of(redirect: Any) -> str:
    """The nonce in the redirect to LINE's account-link dialog."""
    return parse_qs(urlsplit(redirect.headers["Location"]).query)["nonce"][0]


def bound_line_user_id(session: Any, member_id: int) -> int | None:
    """Which LINE user (primary key) the member is bound to, if any."""
    return session.scalar(select(Member.line_user_id).where(Member.id == member_id))


def line_user_pk(session: Any, user: str) -> int | None:
    return session.scalar(select(LineUser.id).where(LineUser.line_user_id == user))
