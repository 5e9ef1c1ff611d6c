"""A developer chats with the bot on the local LINE platform page, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser


def _new_friend(page, base_url, name="林小姐"):
    page.goto(f"{base_url}/dev/line")
    page.fill("#new-user-name", name)
    page.click("#create-user")
    page.click("#add-friend")


def test_adding_the_bot_as_a_friend_shows_the_welcome(page, base_url, app):
    _new_friend(page, base_url)

    welcome = page.locator(".bubble.bot", has_text="林小姐，歡迎加入")
    welcome.first.wait_for()

    assert page.locator(".bubble.bot").count() >= 2  # the greeting and the join/bind card
    assert page.get_by_text("加入/綁定會員").first.is_visible()
    save_screenshot(page, "devline-welcome")


def test_typing_an_unknown_text_offers_the_menu_and_its_quick_replies_work(page, base_url, app):
    _new_friend(page, base_url)
    page.locator(".bubble.bot", has_text="歡迎加入").first.wait_for()

    page.fill("#message-input", "今天有什麼麵包？🥐")
    page.click("#send")
    page.locator(".bubble.bot", has_text="抱歉，我看不懂這則訊息").wait_for()
    page.locator(".bubble.user", has_text="今天有什麼麵包？🥐").wait_for()

    page.locator(".quick-reply", has_text="門市資訊").click()

    page.locator(".bubble.bot", has_text=re.compile("門市資訊即將更新")).wait_for()


def test_blocking_the_bot_disables_typing(page, base_url, app):
    _new_friend(page, base_url)
    page.locator(".bubble.bot", has_text="歡迎加入").first.wait_for()

    page.click("#block")

    # A locator, not wait_for_function: the page's CSP forbids the eval its string predicate is polled with.
    expect(page.locator("#message-input")).to_be_disabled()
