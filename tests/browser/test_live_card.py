"""The live member card on a phone: the barcode on screen scans, the countdown runs, and the code is swapped for
the next one without reloading the page; when the code cannot be refreshed the page says so and greys it out."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from bot.links import card_url
from bot.services.barcode.codes import STEP_SECONDS, current_code
from models import Member
from tests.binding_helpers import friend
from tests.browser.conftest import save_screenshot
from tests.factories import make_member

pytestmark = pytest.mark.browser

# 18 s into a time step: the page opens with "條碼將於 42 秒後更新".
AT = datetime(2025, 3, 14, 6, 30, 18, tzinfo=UTC)
FEED = "**/members/card/code?*"


@pytest.fixture
def clock(clock):
    """The server's clock, stopped at AT."""
    clock.set(AT)
    return clock


@pytest.fixture
def opened(phone_page, platform, runtime, settings, session, clock):
    """A member's live card open on a phone whose timers the test drives (Playwright's fake clock)."""
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    page = phone_page
    page.clock.install()
    page.goto(card_url(settings, user))
    _wait_for_images(page)
    page.evaluate("window.sameDocument = true")
    return page, session.get(Member, member.id)


def _wait_for_images(page) -> None:
    for selector in ("#barcode", "#qr"):
        expect(page.locator(selector)).to_have_js_property("complete", True)
        assert page.eval_on_selector(selector, "image => image.naturalWidth") > 0


def _scanned(page, selector: str) -> str:
    """What a scanner reads off the element as the phone shows it."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(page.locator(selector).screenshot())))
    assert len(results) == 1, f"{selector} does not scan"
    return str(results[0].text)


def _code_at(session, member: Member, at: datetime) -> str:
    return current_code(session, member, at).code


def test_the_live_card_shows_a_scannable_code_and_swaps_it_without_a_reload(opened, session, clock):
    page, member = opened
    first = _code_at(session, member, AT)

    assert _scanned(page, "#barcode") == first
    assert _scanned(page, "#qr") == first
    assert re.fullmatch(r"條碼將於 4[12] 秒後更新", page.locator("#countdown-zh").inner_text())
    assert page.get_by_test_id("member-number").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing sticks out sideways"
    assert page.locator("#qr").bounding_box()["y"] + 176 <= 844, "both codes fit on the screen"
    save_screenshot(page, "live-card")

    clock.set(AT + timedelta(seconds=43))  # the server's and the phone's clocks move on together
    page.clock.run_for(43_000)  # the step ends; the page asks for the next code by itself

    second = _code_at(session, member, clock.now())
    expect(page.get_by_test_id("card")).to_have_attribute("data-code", second)
    _wait_for_images(page)
    assert _scanned(page, "#barcode") == second
    assert _scanned(page, "#qr") == second
    assert page.locator("#digits").inner_text().replace(" ", "") == second
    assert page.evaluate("window.sameDocument") is True, "the page was not reloaded"
    assert re.fullmatch(r"條碼將於 (59|58) 秒後更新", page.locator("#countdown-zh").inner_text())


def test_the_refresh_function_fetches_the_current_code_on_demand(opened, session, clock):
    page, member = opened
    clock.set(AT + timedelta(seconds=STEP_SECONDS))

    page.evaluate("window.omoCard.refresh()")

    expect(page.get_by_test_id("card")).to_have_attribute("data-code", _code_at(session, member, clock.now()))
    assert page.evaluate("window.sameDocument") is True


def test_an_offline_phone_is_told_and_the_code_greys_out_once_it_expires(opened, session, clock):
    page, member = opened
    page.route(FEED, lambda route: route.abort())

    page.clock.run_for(43_000)

    expect(page.get_by_test_id("offline")).to_be_visible()
    expect(page.get_by_test_id("offline")).to_contain_text("無法更新條碼")
    expect(page.locator("#codes")).not_to_have_class(re.compile("stale")), "still accepted during the next step"

    page.clock.run_for(STEP_SECONDS * 1000)

    expect(page.locator("#codes")).to_have_class(re.compile("stale"))
    expect(page.locator(".stale-label")).to_be_visible()

    page.unroute(FEED)
    clock.set(AT + timedelta(seconds=2 * STEP_SECONDS))
    page.clock.run_for(11_000)  # the next retry

    expect(page.get_by_test_id("card")).to_have_attribute("data-code", _code_at(session, member, clock.now()))
    expect(page.get_by_test_id("offline")).to_be_hidden()
    expect(page.locator("#codes")).not_to_have_class(re.compile("stale"))
