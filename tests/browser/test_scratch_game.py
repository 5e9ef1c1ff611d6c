"""The scratch card on a phone: the shopper drags a finger over the silver cover and sees the prize the server
decided before the page opened; opened again, the page shows the same prize without scratching."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from bot.links import scratch_url
from tests.binding_helpers import friend
from tests.browser.conftest import save_screenshot
from tests.engagement_helpers import play_at, seed
from tests.factories import make_member

pytestmark = pytest.mark.browser

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # Monday 12:00 in Taipei
BOGO = 100_000  # inside the example LATTE card's 30% 拿鐵買一送一 band


def _scratch(page) -> None:
    """Drag the pointer back and forth across the card, as a finger would."""
    box = page.locator("#cover").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    rows = 9
    for row in range(rows):
        y = box["y"] + 8 + row * (box["height"] - 16) / (rows - 1)
        xs = (box["x"] + 5, box["x"] + box["width"] - 5)
        start, end = xs if row % 2 == 0 else xs[::-1]
        page.mouse.move(start, y, steps=4)
        page.mouse.move(end, y, steps=16)
    page.mouse.up()


@pytest.mark.parametrize("screen", ["phone_page", "page"])
def test_a_shopper_scratches_the_card_with_a_finger_and_sees_the_prize(
    screen, request, platform, runtime, clock, settings
):
    seed(runtime, NOON)
    clock.set(NOON)
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    _prize, _left, play_id = play_at(runtime, member.id, "scratch", NOON, BOGO)
    page = request.getfixturevalue(screen)
    phone = screen == "phone_page"
    page.goto(scratch_url(settings, user, play_id))

    game = page.get_by_test_id("scratch-game")
    expect(game).to_have_attribute("data-revealed", "false")
    expect(page.get_by_test_id("result")).to_be_hidden()
    if phone:
        save_screenshot(page, "scratch-card-before")

    _scratch(page)

    expect(game).to_have_attribute("data-revealed", "true")
    expect(page.get_by_test_id("prize")).to_contain_text("拿鐵買一送一")
    expect(page.get_by_test_id("result")).to_be_visible()
    expect(page.get_by_test_id("coupon-code")).to_have_text(re.compile(r"^[A-Z0-9]+$"))
    if phone:
        page.wait_for_timeout(600)  # the cover's fade
        save_screenshot(page, "scratch-card")

    page.reload()
    expect(game).to_have_attribute("data-revealed", "true")
    expect(page.get_by_test_id("prize")).to_contain_text("拿鐵買一送一")
