"""The admin pages in a browser, on a desktop and on a phone: an admin signs in, adds a store and a clerk for it,
creates a POS key (shown once) and revokes it after the confirm step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.services.staff.api_keys import hash_key
from models import ApiKey, Staff, Store
from tests.browser.conftest import save_screenshot
from tests.factories import STAFF_PASSWORD, make_staff, make_store

pytestmark = pytest.mark.browser


@pytest.fixture
def team(runtime):
    tpe = make_store(runtime.sessions)
    make_staff(runtime.sessions, code="ADMIN", name="系統管理員", role="admin")
    make_staff(runtime.sessions, code="M001", name="林店長", role="manager", store=tpe, password=None)
    make_staff(runtime.sessions, code="C001", name="王小美", store=tpe, password=None)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer", password=None)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing sticks out sideways"


@pytest.mark.parametrize(("size", "width"), [("page", 1280), ("phone_page", 390)])
def test_an_admin_adds_a_store_and_a_clerk_then_creates_and_revokes_a_key(
    request, app, base_url, team, session, size, width
):
    page = request.getfixturevalue(size)
    if width > 600:
        page.set_viewport_size({"width": 1280, "height": 800})
    shot = "admin-staff-desktop" if width > 600 else "admin-staff-phone"

    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "ADMIN")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("link", name="門市", exact=True).first.click()

    page.get_by_test_id("new-store").click()
    page.fill("#store-code", "TPE02")
    page.fill("#store-name", "台北南港店")
    page.fill("input[name=address]", "台北市南港區經貿二路 1 號")
    page.fill("input[name=opening_hours]", "每日 10:00–22:00")
    _fits(page, width)
    page.click("#save-store")
    expect(page.get_by_role("status")).to_have_text("已新增門市「台北南港店」")
    _fits(page, width)
    store = session.scalars(select(Store).where(Store.code == "TPE02")).one()

    page.goto(f"{base_url}/staff/admin/staff")
    page.get_by_test_id("new-staff").click()
    page.fill("#staff-code", "C003")
    page.fill("#staff-name", "李小華")
    page.select_option("#staff-role", "clerk")
    page.select_option("#staff-store", str(store.id))
    page.fill("#staff-password", "first-pass-123")
    page.fill("#staff-repeat", "first-pass-123")
    page.click("#save-staff")
    expect(page.get_by_role("status")).to_have_text("已新增員工「李小華」")
    expect(page.get_by_test_id("staff")).to_contain_text("台北南港店")
    _fits(page, width)
    save_screenshot(page, shot)
    clerk = session.scalars(select(Staff).where(Staff.code == "C003")).one()
    assert (clerk.role, clerk.store_id) == ("clerk", store.id)

    page.goto(f"{base_url}/staff/admin/api-keys")
    page.select_option("#key-store", str(store.id))
    page.fill("#key-name", "南港 1 號收銀機")
    page.click("#create-key")
    raw_key = page.get_by_test_id("raw-key").input_value()
    assert session.scalars(select(ApiKey)).one().key_hash == hash_key(raw_key)
    _fits(page, width)
    page.get_by_role("link", name="我已複製，回到金鑰列表").click()
    keys = page.get_by_test_id("api-keys")
    expect(keys).to_contain_text("南港 1 號收銀機")
    assert raw_key not in page.content(), "the key is shown once only"

    keys.get_by_role("link", name="撤銷").click()
    page.click("#confirm-revoke")
    expect(page.get_by_role("status")).to_contain_text("已撤銷金鑰「南港 1 號收銀機」")
    expect(page.get_by_test_id("api-keys")).to_contain_text("已撤銷")
    assert session.scalars(select(ApiKey)).one().revoked_at is not None
    _fits(page, width)
