"""An existing member links LINE in a real browser: the bind page, the texted code read off the local LINE platform
page, LINE's account-link dialog, and the accountLink event that binds."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from models import BindingAudit, Member
from tests.binding_helpers import friend
from tests.factories import make_member

pytestmark = pytest.mark.browser


def test_an_existing_member_links_their_line_account_with_a_texted_code(page, platform, runtime, base_url, session):
    member = make_member(runtime.sessions, phone="+886912345678")
    user = friend(platform, "林怡君")
    seen = len(platform.bot_messages(user))
    platform.postback(user, "action=bind")
    card = platform.bot_messages(user)[seen]
    bind_link = next(
        b["action"]["uri"] for b in card["contents"]["footer"]["contents"] if b["action"]["label"] == "綁定既有會員"
    )

    page.goto(bind_link)
    page.fill("#phone", "0912-345-678")
    page.click("#send-code")
    page.get_by_test_id("code-sent").wait_for()
    bind_page = page.url

    page.goto(f"{base_url}/dev/line")
    texted = page.locator("#sms-inbox li", has_text="驗證碼")
    texted.wait_for()
    code = re.search(r"驗證碼為 (\d{6})", texted.inner_text()).group(1)
    assert "0912" not in texted.inner_text(), "the page shows the phone masked"

    page.go_back()
    assert page.url == bind_page
    page.fill("#code", code)
    page.click("#verify")
    page.wait_for_url(re.compile(r"/dev/line/dialog/bot/accountLink"))
    assert page.get_by_test_id("account-link-result").get_attribute("data-linked") == "true"

    # Like LINE, the dialog sends the accountLink event on its own time: wait for the bot's confirmation.
    deadline = time.monotonic() + 10
    while member.member_number not in str(platform.bot_messages(user)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session.get(Member, member.id).line_user_id is not None
    assert session.scalars(select(BindingAudit.channel)).one() == "account_link"
