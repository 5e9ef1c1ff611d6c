"""A campaign in a browser: a marketer composes a card with a coupon for a segment, previews it (the bubble and the
reach), schedules it in Taiwan time, and once the minute job has run reads its progress; at desktop and phone sizes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from bot import tasks
from tests.browser.conftest import save_screenshot
from tests.campaign_helpers import TAIPEI, consenting_members, make_segment
from tests.coupon_helpers import make_template
from tests.factories import STAFF_PASSWORD, make_staff

pytestmark = pytest.mark.browser

NOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Taipei


def _sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_marketer_previews_schedules_and_follows_a_campaign(app, base_url, runtime, clock, browser, size):
    clock.set(NOON)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    consenting_members(runtime.sessions, 4)
    make_segment(runtime.sessions, name="全部會員")
    make_template(runtime.sessions)
    width, height = (1280, 900) if size == "desktop" else (390, 844)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-TW")
    page = context.new_page()
    try:
        _sign_in(page, base_url)
        page.goto(f"{base_url}/staff/console/campaigns/")
        page.get_by_test_id("new-campaign").click()
        page.fill("input[name=name]", "新品上市")
        page.select_option("select[name=segment_id]", label="全部會員")
        page.check("input[name=kind][value=card]")
        page.fill("input[name=title]", "冬季新品")
        page.fill("textarea[name=body]", "{name} 您好，您有 {points} 點可折抵")
        page.fill("input[name=button_label]", "看新品")
        page.fill("input[name=button_url]", "https://shop.example.com/new")
        page.fill("input[name=holdout_percent]", "25")
        page.select_option("select[name=coupon_template_id]", label="滿 300 折 50（NT50OFF）")
        page.click("#preview-campaign")

        expect(page.get_by_test_id("reach")).to_contain_text("4 人")
        expect(page.get_by_test_id("chat-preview")).to_contain_text("王小明 您好，您有 1,234 點可折抵")
        expect(page.get_by_test_id("chat-preview")).to_contain_text("已送您一張優惠券「滿 300 折 50」")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_screenshot(page, f"campaign-preview-{size}")

        page.check("input[name=when][value=later]")
        page.fill("input[name=send_at]", "2026-11-30T15:00")
        page.click("#save-campaign")
        expect(page.get_by_role("status")).to_have_text("已排程推播活動「新品上市」")
        expect(page.get_by_test_id("status")).to_have_text("排程中")

        clock.set(datetime(2026, 11, 30, 15, 0, tzinfo=TAIPEI))
        tasks.send_due_campaigns.call_local()
        page.reload()
        expect(page.get_by_test_id("progress")).to_be_visible()
        expect(page.get_by_test_id("progress")).to_contain_text("4")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.goto(f"{base_url}/staff/console/campaigns/")
        expect(page.get_by_test_id("campaigns")).to_contain_text("新品上市")
    finally:
        context.close()
