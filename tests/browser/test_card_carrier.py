"""The live card with a saved e-invoice carrier: under the member code, the Code 39 on screen scans as exactly the
saved carrier, at phone and desktop sizes, and nothing sticks out sideways."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from bot.db import transaction
from bot.links import card_url
from models import Member
from tests.binding_helpers import friend
from tests.browser.conftest import save_screenshot
from tests.factories import make_member

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("size", [(390, 844), (1280, 900)], ids=["phone", "desktop"])
def test_the_carrier_on_the_card_scans_as_the_saved_carrier(sized_page, platform, runtime, settings, size):
    width, height = size
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    with transaction(runtime.sessions) as session:
        session.get_one(Member, member.id).einvoice_carrier = "/A.+-B9Z"
    page = sized_page(width, height)

    page.goto(card_url(settings, user))

    carrier = page.get_by_test_id("carrier-barcode")
    expect(carrier).to_have_js_property("complete", True)
    assert page.eval_on_selector("#carrier-barcode", "image => image.naturalWidth") > 0
    expect(page.get_by_test_id("carrier")).to_contain_text("手機條碼載具")
    expect(page.get_by_test_id("carrier-text")).to_have_text("/A.+-B9Z")
    shot = Image.open(io.BytesIO(carrier.screenshot()))
    read = zxingcpp.read_barcodes(shot, formats=zxingcpp.BarcodeFormat.Code39Std)
    assert {r.text for r in read} == {"/A.+-B9Z"}
    assert carrier.bounding_box()["y"] > page.get_by_test_id("qr").bounding_box()["y"], "under the member code"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing sticks out sideways"
    if width < 500:
        save_screenshot(page, "live-card-carrier")
