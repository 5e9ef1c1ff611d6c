"""A shopper joins on their phone: the join page in a 390px-wide browser, filled in, sent, and the texted code
entered."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.links import join_url
from models import Member
from tests.binding_helpers import friend, sms_codes
from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser


def test_a_shopper_fills_the_join_page_on_a_phone_and_becomes_a_member(app, phone_page, platform, settings, session):
    user = friend(platform, "林怡君")
    page = phone_page

    page.goto(join_url(settings, user))
    page.fill("#name", "林怡君")
    page.fill("#phone", "0912-345-678")
    page.fill("#birthday", "1990-03-14")
    page.check("#consent")

    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing sticks out sideways"
    save_screenshot(page, "join-page")
    page.click("#join")

    page.get_by_test_id("code-sent").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing sticks out sideways"
    save_screenshot(page, "join-code-step")
    assert session.scalars(select(Member)).first() is None, "nothing is created before the code"
    (code,) = sms_codes(app, "+886912345678")
    page.fill("#code", code)
    page.click("#verify")

    page.get_by_test_id("joined").wait_for()
    number = page.get_by_test_id("member-number").inner_text()
    assert session.scalars(select(Member.member_number)).one() == number
    assert page.get_by_text("回到 LINE").is_visible()


def test_a_missing_consent_is_pointed_out_on_the_page(phone_page, platform, settings):
    user = friend(platform)
    page = phone_page

    page.goto(join_url(settings, user))
    page.fill("#name", "林怡君")
    page.fill("#phone", "0912-345-678")
    page.click("#join")

    assert page.get_by_test_id("error-consent").inner_text().startswith("請閱讀並同意會員條款與隱私權政策")


def test_on_a_desktop_a_wrong_code_is_pointed_out_and_nothing_is_created(app, page, platform, settings, session):
    user = friend(platform)

    page.goto(join_url(settings, user))
    page.fill("#name", "林怡君")
    page.fill("#phone", "0912-345-678")
    page.check("#consent")
    page.click("#join")
    page.get_by_test_id("code-sent").wait_for()
    (code,) = sms_codes(app, "+886912345678")
    page.fill("#code", f"{(int(code) + 1) % 10**6:06d}")
    page.click("#verify")

    assert "驗證碼不正確" in page.locator("body").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert session.scalars(select(Member)).first() is None
