"""The live card after a till spends its code: the next code of the same minute is on the phone within seconds,
without a reload, and it scans; the spent one is refused."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from bot.db import transaction
from bot.links import card_url
from bot.services.barcode.codes import current_code
from bot.services.barcode.scanning import scan
from bot.services.refusals import Reason
from models import Member
from tests.binding_helpers import friend
from tests.factories import make_member
from tests.pos import open_shop

pytestmark = pytest.mark.browser

AT = datetime(2025, 3, 14, 6, 30, 18, tzinfo=UTC)
FEED = "**/members/card/code?*"


@pytest.fixture
def clock(clock):
    clock.set(AT)
    return clock


def _till(runtime, store_id: int, code: str) -> str:
    with transaction(runtime.sessions) as session:
        outcome = scan(session, code, intent="transaction", store_id=store_id, staff_id=None, at=AT)
        return outcome.refusal.reason if outcome.refusal else "ok"


def _scanned(page) -> str:
    results = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(page.locator("#barcode").screenshot())), formats=zxingcpp.BarcodeFormat.Code128
    )
    assert len({r.text for r in results}) == 1, "#barcode does not scan"
    return str(results[0].text)


@pytest.mark.parametrize("size", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_a_code_spent_at_a_till_gives_way_to_the_next_one_within_three_seconds(
    sized_page, platform, runtime, settings, session, clock, size
):
    width, height = size
    page = sized_page(width, height)
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    store_id = open_shop(runtime.sessions).store_id
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/members/card/code?" in request.url else None)
    page.clock.install()
    page.goto(card_url(settings, user))
    expect(page.locator("#barcode")).to_have_js_property("complete", True)
    first = _scanned(page)

    page.clock.run_for(2_500)  # a poll finds the code unchanged: the page keeps it
    page.wait_for_function("() => !window.omoCard.state.inFlight")
    assert page.get_by_test_id("card").get_attribute("data-code") == first
    assert polls, "the open card asks whether its code was spent"

    assert _till(runtime, store_id, first) == "ok"
    page.clock.run_for(2_500)

    second = current_code(session, session.get_one(Member, member.id), AT).code
    assert second != first
    expect(page.get_by_test_id("card")).to_have_attribute("data-code", second)
    expect(page.locator("#barcode")).to_have_js_property("complete", True)
    assert _scanned(page) == second
    assert page.locator("#digits").inner_text().replace(" ", "") == second
    assert _till(runtime, store_id, first) == Reason.CODE_USED
    assert _till(runtime, store_id, second) == "ok"
