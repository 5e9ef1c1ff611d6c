"""Renaming and deleting a tag in a browser, on a phone and a desktop: the rename field in the tag's row, and a
deletion that asks first (dismissed: nothing happens; accepted: the tag leaves the list)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot.db import transaction
from models import Tag
from tests.factories import STAFF_PASSWORD, make_staff

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}])
def test_rename_then_delete_a_tag_after_confirming(app, base_url, page, runtime, viewport, tmp_path):
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    with transaction(runtime.sessions) as session:
        session.add_all([Tag(name="貴賓", kind="manual"), Tag(name="常客", kind="manual")])
    page.set_viewport_size(viewport)
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base_url}/staff/console/tags")

    row = page.get_by_test_id("tags").locator("tr", has_text="貴賓")
    row.get_by_label("新的標籤名稱").fill("超級貴賓")
    row.get_by_role("button", name="改名").click()
    expect(page.get_by_role("status")).to_have_text("已將標籤「貴賓」改名為「超級貴賓」")
    page.screenshot(path=str(tmp_path / f"tags-{viewport['width']}.png"), full_page=True)

    row = page.get_by_test_id("tags").locator("tr", has_text="常客")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_test_id("delete-tag").click()
    expect(page.get_by_test_id("tags")).to_contain_text("常客")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("delete-tag").click()
    expect(page.get_by_role("status")).to_have_text("已刪除標籤「常客」，0 位會員的這個標籤已移除（紀錄仍保留）")
    expect(page.get_by_test_id("tags")).not_to_contain_text("常客")
    expect(page.get_by_test_id("tags")).to_contain_text("超級貴賓")
