"""Programme settings in a browser, on a desktop and on a phone: a marketer raises a tier threshold, is told what
was wrong with a first try, and sees the change in the tier table's version history."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from models import Game, GamePrize, TierSetting, TierSettingsVersion
from tests.browser.conftest import save_screenshot
from tests.engagement_helpers import seed
from tests.factories import STAFF_PASSWORD, make_staff

pytestmark = pytest.mark.browser
AT = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(("size", "width"), [("page", 1280), ("phone_page", 390)])
def test_a_marketer_edits_a_tier_threshold_and_sees_the_history(request, app, base_url, runtime, session, size, width):
    page = request.getfixturevalue(size)
    seed(runtime)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")

    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("navigation").get_by_role("link", name="等級設定").click()
    expect(page.locator("#tier-threshold-silver")).to_have_value("10000")
    expect(page.locator("#tier-multiplier-regular")).to_have_value("1.0")

    page.fill("#tier-threshold-silver", "40000")
    page.get_by_test_id("save-tiers").click()
    expect(page.get_by_role("alert")).to_have_text("「金卡會員」的門檻要高於「銀卡會員」的門檻（40,000 元）")
    expect(page.locator("#tier-threshold-gold")).to_have_attribute("aria-invalid", "true")

    page.fill("#tier-threshold-silver", "12000")
    page.fill("#tier-multiplier-gold", "1.8")
    page.get_by_test_id("save-tiers").click()
    expect(page.get_by_role("status")).to_contain_text("已儲存會員等級設定")
    versions = page.get_by_test_id("versions")
    expect(versions.locator("tbody tr").first).to_contain_text("行銷小組（K001）")
    expect(versions.locator("tbody tr").first).to_contain_text("銀卡會員 門檻")
    expect(versions.locator("tbody tr").first).to_contain_text("金卡會員 點數倍率")
    expect(versions).to_contain_text("原始設定")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    save_screenshot(page, "console-tiers-desktop" if width > 600 else "console-tiers-phone")

    newest = session.scalars(select(TierSettingsVersion).order_by(TierSettingsVersion.version.desc())).first()
    rows = session.scalars(select(TierSetting).where(TierSetting.version_id == newest.id)).all()
    assert {r.code: (r.threshold, r.earn_multiplier_pct) for r in rows} == {
        "regular": (0, 100),
        "silver": (12_000, 120),
        "gold": (30_000, 180),
    }


def test_a_marketer_changes_a_prize_on_a_phone(app, base_url, runtime, session, phone_page):
    page = phone_page
    seed(runtime, AT)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", "K001")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("navigation").get_by_role("link", name="任務設定").click()
    page.get_by_test_id("games").get_by_role("row").filter(has_text="DAILY").get_by_role("link", name="編輯").click()

    page.fill("input[name=p_odds_0]", "150")
    page.get_by_test_id("save-game").click()
    expect(page.get_by_role("alert")).to_contain_text("「機率」不可以超過 100%")
    page.fill("input[name=p_odds_0]", "1.5")
    page.get_by_test_id("save-game").click()
    expect(page.get_by_role("status")).to_have_text("已儲存「每日幸運抽獎」")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    save_screenshot(page, "console-game-phone")
    page.get_by_role("link", name="每日任務設定").click()
    expect(page.get_by_test_id("versions").locator("tbody tr").first).to_contain_text("每日幸運抽獎")
    expect(page.get_by_test_id("versions").locator("tbody tr").first).to_contain_text("行銷小組（K001）")
    save_screenshot(page, "console-tasks-phone")
    daily = session.scalars(select(Game).where(Game.code == "DAILY")).one()
    first = session.scalars(select(GamePrize).where(GamePrize.game_id == daily.id).order_by(GamePrize.position)).first()
    assert first is not None and first.chance_ppm == 15_000
