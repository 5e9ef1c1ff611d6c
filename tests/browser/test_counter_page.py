"""The counter page in a real browser, at a phone's and a counter PC's size: a clerk signs in, a USB scanner types the
member's rotating code into the field that already has the focus, and the clerk records a purchase, redeems a coupon,
is told 已使用 on the second try, and undoes both."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.db import transaction
from models import Member
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, save_screenshot
from tests.coupon_helpers import give, make_template
from tests.factories import STAFF_PASSWORD, make_member, make_staff
from tests.pos import member_code
from tests.stamp_helpers import make_stamp_template

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(runtime) -> dict[str, Any]:
    """A clerk at TPE01 and a member with a coupon, a carrier and a bread stamp card running."""
    make_staff(runtime.sessions)
    member = make_member(runtime.sessions, points=40)
    with transaction(runtime.sessions) as session:
        session.get_one(Member, member.id).einvoice_carrier = "/ABC1234"
    make_stamp_template(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "welcome", at=datetime.now(UTC))
    return {"member": member, "coupon": coupon.code}


def _sign_in(page, base_url: str) -> list[str]:
    """Sign the clerk in (they land on the counter page); the console's CSP complaints are collected."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "C001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(lambda url: url.endswith("/counter"))
    return problems


def _scan(page, text: str) -> None:
    """What a USB scanner does: type into whatever has the focus, then Enter. The scan field must have it."""
    expect(page.locator("#scan")).to_be_focused()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _serve(page, runtime, shop: dict[str, Any], screenshot: str) -> None:
    status = page.locator("#status")
    _scan(page, member_code(runtime.sessions, shop["member"].id))

    expect(page.locator("#member-name")).to_have_text("林怡君")
    expect(page.locator("#member-phone")).to_have_text("0912-***-678")
    expect(page.locator("#member-points")).to_have_text("40 點")
    expect(page.locator("#carrier-code")).to_have_text("/ABC1234")
    expect(page.locator("#carrier-image")).to_have_js_property("complete", True)
    assert page.eval_on_selector("#carrier-image", "image => image.naturalWidth") > 0

    # A purchase: amount, preview, confirm.
    page.locator("#amount").fill("1250")
    page.keyboard.press("Enter")
    expect(page.locator("#preview-text")).to_have_text("NT$1,250 可獲得 12 點")
    expect(page.locator("#preview-stamps")).to_contain_text("麵包集點卡：0/10，加 12 點")
    page.locator("#confirm").click()
    expect(status).to_have_text("已登錄消費 NT$1,250，獲得 12 點")
    expect(page.locator("#member-points")).to_have_text("52 點")
    expect(page.locator("#scan")).to_be_focused()
    # The code is spent: stamping again needs the shopper's new code.
    expect(page.locator("#stamp")).to_be_disabled()
    expect(page.locator("#stamp")).to_have_text("請掃描會員條碼")

    # The coupon that goes with it, picked from the member's list (the same scan, looked up, not spent).
    page.locator(f".use-coupon[data-code='{shop['coupon']}']").click()
    expect(status).to_have_text("已使用優惠券「滿 300 折 50」")
    expect(page.locator("#member-coupons")).to_have_text("目前沒有可用的優惠券")
    save_screenshot(page, screenshot)

    # The second try, scanning the coupon's own code: already used.
    _scan(page, shop["coupon"])
    expect(status).to_have_text("此優惠券已使用")
    expect(status).to_have_class("status bad")

    # Undo both, the newest first.
    page.locator(".recent-item", has_text="優惠券").locator("button.undo").click()
    expect(status).to_have_text("已取消使用優惠券「滿 300 折 50」")
    page.locator(".recent-item", has_text="消費").locator("button.undo").click()
    expect(status).to_have_text("已取消消費，扣回 12 點")
    expect(page.locator("#member-points")).to_have_text("40 點")
    expect(page.locator("#scan")).to_be_focused()


def test_a_clerk_serves_a_member_at_a_counter_pc(browser, base_url, app, runtime, shop):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-TW")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        problems = _sign_in(page, base_url)
        expect(page.locator("#camera")).to_be_hidden()  # no camera button on a PC with a mouse
        _serve(page, runtime, shop, "counter-desktop")
        assert not [text for text in problems if "Content Security Policy" in text]
    finally:
        context.close()


def test_a_clerk_serves_a_member_on_a_phone(phone_page, base_url, app, runtime, shop):
    problems = _sign_in(phone_page, base_url)

    expect(phone_page.locator("#camera")).to_be_visible()
    _serve(phone_page, runtime, shop, "counter-phone")
    assert not [text for text in problems if "Content Security Policy" in text]


def test_a_look_up_by_number_shows_the_member_but_the_spend_buttons_ask_for_a_scan(page, base_url, app, runtime, shop):
    _sign_in(page, base_url)

    page.locator("#lookup").fill("M000001")
    page.keyboard.press("Enter")

    expect(page.locator("#member-name")).to_have_text("林怡君")
    expect(page.locator("#member-mode")).to_have_text("以會員編號或手機查詢：僅供查看，集點或折抵請掃描會員條碼")
    for button in ("#confirm", "#stamp"):
        expect(page.locator(button)).to_be_disabled()
        expect(page.locator(button)).to_have_text("請掃描會員條碼")
    expect(page.locator(".use-coupon").first).to_be_disabled()
    expect(page.locator("#scan")).to_be_focused()  # back to the scan field once the look-up is done


def test_the_camera_opens_with_the_vendored_library_under_the_pages_policy(browser, base_url, app, runtime, shop):
    """A phone with a (fake) camera: the button loads the vendored html5-qrcode and shows the camera's picture."""
    with_camera = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
    )
    try:
        context = with_camera.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-TW"
        )
        context.grant_permissions(["camera"])
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems = _sign_in(page, base_url)

        page.locator("#camera").click()

        expect(page.locator("#camera-view video")).to_be_visible()
        assert page.evaluate("typeof window.__Html5QrcodeLibrary__.Html5Qrcode") == "function"
        page.locator("#camera-close").click()
        expect(page.locator("#camera-box")).to_be_hidden()
        expect(page.locator("#scan")).to_be_focused()
        assert not [text for text in problems if "Content Security Policy" in text]
    finally:
        with_camera.close()


def test_undoing_an_earlier_shoppers_purchase_does_not_let_the_next_shoppers_code_spend_for_them(
    page, base_url, app, runtime, shop
):
    other = make_member(runtime.sessions, name="陳志明", phone="+886922333444")
    _sign_in(page, base_url)
    _scan(page, member_code(runtime.sessions, shop["member"].id))
    page.locator("#amount").fill("300")
    page.keyboard.press("Enter")
    page.locator("#confirm").click()
    expect(page.locator("#status")).to_have_text("已登錄消費 NT$300，獲得 3 點")

    _scan(page, member_code(runtime.sessions, other.id))
    expect(page.locator("#member-name")).to_have_text("陳志明")
    page.locator(".recent-item", has_text="林怡君").locator("button.undo").click()

    expect(page.locator("#status")).to_have_text("已取消消費，扣回 3 點")
    expect(page.locator("#member-name")).to_have_text("林怡君")
    expect(page.locator("#stamp")).to_be_disabled()  # 陳志明's code is not spent on 林怡君
    expect(page.locator("#member-mode")).to_have_text("以會員編號或手機查詢：僅供查看，集點或折抵請掃描會員條碼")
