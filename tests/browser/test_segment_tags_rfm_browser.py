"""The segment builder's newer conditions in a browser, on a phone and a desktop: a marketer tags a member by member
number on the tags page, then builds "tagged, or bought a tea" with a NOT on an RFM group and sees the count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from bot.db import transaction
from models import Product, Purchase, Tag
from tests.factories import STAFF_PASSWORD, make_member, make_staff, make_store

pytestmark = pytest.mark.browser


@pytest.fixture
def shoppers(runtime, clock):
    store = make_store(runtime.sessions)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    tea = make_member(runtime.sessions, member_number="M000301", name="林怡君", phone="+886912000001")
    make_member(runtime.sessions, member_number="M000302", name="陳志明", phone="+886912000002")
    make_member(runtime.sessions, member_number="M000303", name="王大同", phone="+886912000003")
    with transaction(runtime.sessions) as session:
        session.add(Product(sku="TEA-01", name="烏龍茶", category="茶飲", updated_at=datetime.now(UTC)))
        session.add(Tag(name="貴賓", kind="manual"))
        session.add(
            Purchase(
                store_id=store.id,
                channel="pos",
                transaction_id="T1",
                request_hash="0" * 64,
                member_id=tea.id,
                amount=120,
                items=[{"sku": "TEA-01", "quantity": 1, "price": 120}],
                response={},
                created_at=clock.now() - timedelta(days=2),
            )
        )
    return tea


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}])
def test_tag_a_member_then_select_by_tag_category_and_not_rfm(app, base_url, page, shoppers, viewport):
    page.set_viewport_size(viewport)
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base_url}/staff/console/tags")
    page.get_by_test_id("find-member").get_by_label("會員編號").fill("M000302")
    page.get_by_test_id("find-member").get_by_role("button").click()
    expect(page.get_by_test_id("member-tags")).to_contain_text("沒有標籤")
    page.get_by_test_id("add-member-tag").get_by_role("button").click()
    expect(page.get_by_role("status")).to_have_text("已為會員 M000302 加上標籤「貴賓」")
    expect(page.get_by_test_id("member-tags")).to_contain_text("貴賓")
    expect(page.get_by_test_id("tag-history")).to_contain_text("行銷小組")

    page.goto(f"{base_url}/staff/console/segments/new")
    page.get_by_test_id("group-mode").first.select_option("any")
    page.get_by_test_id("add-condition").last.click()
    first = page.get_by_test_id("condition").nth(0)
    first.get_by_test_id("condition-kind").select_option("tags")
    first.get_by_label("貴賓").check()
    expect(page.get_by_test_id("preview-count")).to_have_text("1")
    page.get_by_test_id("add-condition").last.click()
    second = page.get_by_test_id("condition").nth(1)
    second.get_by_test_id("condition-kind").select_option("bought_category")
    second.get_by_label("茶飲（1）").check()
    expect(page.get_by_test_id("preview-count")).to_have_text("2")
    expect(page.get_by_test_id("preview-sample")).to_contain_text("林*君")
    # No RFM groups are computed yet, so "not a lost customer" is true of everyone and the OR finds all three.
    page.get_by_test_id("add-condition").last.click()
    third = page.get_by_test_id("condition").nth(2)
    third.get_by_test_id("condition-kind").select_option("rfm_group")
    third.get_by_label("流失顧客").check()
    third.get_by_label("排除（NOT）").check()
    expect(page.get_by_test_id("preview-count")).to_have_text("3")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
