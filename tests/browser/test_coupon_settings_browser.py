"""Coupon settings in a browser: a marketer changes a template's terms, sees the change in its version history and
issues it by hand to one member."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.db import transaction
from models import Coupon, CouponTemplate
from tests.browser.conftest import save_screenshot
from tests.factories import STAFF_PASSWORD, make_member, make_staff

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("size", "width"), [("page", 1280), ("phone_page", 390)])
def test_a_marketer_edits_a_coupon_and_issues_it_by_hand(request, app, base_url, runtime, session, size, width):
    page = request.getfixturevalue(size)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as db:
        db.add(CouponTemplate(code="NT50OFF", name="滿 300 折 50", kind="amount_off", value=50, min_spend=300))

    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base_url}/staff/console/coupons")
    page.get_by_role("link", name="編輯").click()

    page.fill("#ct-value", "0")
    page.get_by_test_id("save-coupon").click()
    expect(page.get_by_role("alert")).to_have_text("折抵金額請填 1 到 100,000 元")
    page.fill("#ct-value", "80")
    page.fill("#ct-name", "滿 300 折 80")
    page.get_by_test_id("save-coupon").click()
    expect(page.get_by_role("status")).to_have_text("已儲存優惠券「滿 300 折 80」")
    expect(page.get_by_test_id("versions")).to_contain_text("行銷小組")
    expect(page.get_by_test_id("versions")).to_contain_text("折抵金額或折扣")

    page.fill("#issue-member", member.member_number)
    page.get_by_test_id("issue-member").get_by_role("button").click()
    expect(page.get_by_role("status")).to_have_text(f"已發給會員 {member.member_number} 一張「滿 300 折 80」")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    save_screenshot(page, "console-coupon-desktop" if width > 600 else "console-coupon-phone")
    assert session.scalars(select(Coupon.member_id)).all() == [member.id]


def test_the_segment_builder_fits_a_phone(app, base_url, runtime, phone_page):
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    page = phone_page
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base_url}/staff/console/segments/new")
    page.get_by_test_id("add-condition").last.click()
    page.get_by_test_id("condition-kind").select_option("spend")
    page.get_by_test_id("add-group").click()
    page.get_by_test_id("condition-kind").nth(1).select_option("visited_store")
    expect(page.get_by_test_id("condition")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
