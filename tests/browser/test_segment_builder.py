"""The segment builder in a browser: a marketer builds "gold members who spent NT$1,000+ in 90 days" from two
conditions, sees the live count and a masked sample change as they go, and saves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.db import transaction
from models import Purchase, Segment
from tests.browser.conftest import save_screenshot
from tests.factories import STAFF_PASSWORD, make_member, make_staff, make_store

pytestmark = pytest.mark.browser


@pytest.fixture
def shoppers(runtime, clock):
    store = make_store(runtime.sessions)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    big = make_member(runtime.sessions, name="林怡君", phone="+886912000001", tier="gold")
    make_member(runtime.sessions, name="陳志明", phone="+886912000002", tier="gold")
    small = make_member(runtime.sessions, name="王大同", phone="+886912000003", tier="regular")
    with transaction(runtime.sessions) as session:
        for n, (member, amount) in enumerate([(big, 3000), (small, 5000)]):
            session.add(
                Purchase(
                    store_id=store.id,
                    channel="pos",
                    transaction_id=f"B{n}",
                    request_hash="0" * 64,
                    member_id=member.id,
                    amount=amount,
                    response={},
                    created_at=clock.now() - timedelta(days=3),
                )
            )
    return big


def test_a_marketer_builds_a_segment_from_two_conditions_and_sees_the_count(app, base_url, page, shoppers, session):
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="會員分群", exact=True).first.click()
    page.get_by_test_id("new-segment").click()

    page.get_by_test_id("segment-name").fill("高消費金卡")
    page.get_by_test_id("add-condition").last.click()
    first = page.get_by_test_id("condition").nth(0)
    first.get_by_test_id("condition-kind").select_option("tier")
    first.get_by_label("金卡會員").check()
    expect(page.get_by_test_id("preview-count")).to_have_text("2")

    page.get_by_test_id("add-condition").last.click()
    second = page.get_by_test_id("condition").nth(1)
    second.get_by_test_id("condition-kind").select_option("spend")
    second.get_by_label("最小值").fill("1000")
    second.get_by_label("最小值").press("Tab")
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    expect(page.get_by_test_id("preview-sample")).to_contain_text(shoppers.member_number)
    expect(page.get_by_test_id("preview-sample")).to_contain_text("林*君")
    expect(page.get_by_test_id("preview-sample")).not_to_contain_text("林怡君")
    # Nobody is bound to LINE with consent, so no marketing message could reach them.
    expect(page.get_by_test_id("preview-reachable")).to_have_text("0")

    # "Any of" instead of "all of": every gold member, and everyone who spent NT$1,000+.
    page.get_by_test_id("group-mode").first.select_option("any")
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
    page.get_by_test_id("group-mode").first.select_option("all")
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    save_screenshot(page, "segment-builder-desktop")

    page.get_by_test_id("save-segment").click()
    expect(page.get_by_role("status")).to_have_text("已儲存分群「高消費金卡」")
    expect(page.get_by_test_id("segments")).to_contain_text("高消費金卡")
    segment = session.scalars(select(Segment)).one()
    assert segment.definition == {
        "all": [
            {"type": "tier", "tiers": ["gold"]},
            {"type": "spend", "days": 90, "min": 1000, "max": None},
        ]
    }


def test_a_bad_condition_says_why_before_saving(app, base_url, page, shoppers):
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base_url}/staff/console/segments/new")
    page.get_by_test_id("add-condition").last.click()
    condition = page.get_by_test_id("condition").nth(0)
    condition.get_by_test_id("condition-kind").select_option("spend")
    condition.get_by_label("最小值").fill("500")
    condition.get_by_label("最大值").fill("100")
    condition.get_by_label("最大值").press("Tab")
    expect(page.get_by_test_id("preview-error")).to_contain_text("最小值不能大於最大值")
    page.get_by_test_id("segment-name").fill("錯的")
    page.get_by_test_id("save-segment").click()
    expect(page.get_by_role("alert").first).to_contain_text("期間內消費金額")
