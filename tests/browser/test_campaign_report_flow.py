"""The marketer's console from end to end in a browser, at desktop and phone sizes: build a segment in the builder,
compose a campaign with a coupon, preview it, schedule it, let the minute job start it and deliver it to the local
LINE platform, record a purchase by one of its recipients through the POS API, and read that revenue in the
campaign's report; then the programme dashboard draws its charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot import tasks
from bot.db import transaction
from bot.services.staff.api_keys import create_api_key
from models import Campaign, CampaignRecipient, Consent, Member, Store
from tests.binding_helpers import friend
from tests.browser.conftest import save_screenshot
from tests.campaign_helpers import TAIPEI
from tests.coupon_helpers import make_template
from tests.factories import STAFF_PASSWORD, make_member, make_staff

pytestmark = pytest.mark.browser

NOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Taipei
SENT_AT = datetime(2026, 11, 30, 15, 0, tzinfo=TAIPEI)


def _shoppers(runtime, platform) -> list[str]:
    """Four LINE friends bound to memberships with marketing consent, and one member not bound to LINE."""
    users = []
    for i in range(4):
        user = friend(platform, f"顧客{i}")
        member = make_member(runtime.sessions, phone=None, name=f"顧客{i}", bound_to=user)
        with transaction(runtime.sessions) as tx:
            tx.add(
                Consent(
                    member_id=member.id, terms_version="v1", privacy_version="v1", marketing_opt_in=True, channel="line"
                )
            )
        users.append(user)
    make_member(runtime.sessions, phone=None, name="沒綁定")
    return users


def _online_shop_key(runtime) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        session.add(Store(code="WEB", name="網路商店", is_online=True))
        session.flush()
        _, key = create_api_key(session, store_code="WEB", name="shop", now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_marketer_builds_a_segment_sends_a_campaign_and_reads_its_revenue_in_the_report(
    app, base_url, runtime, clock, platform, browser, session, size
):
    clock.set(NOON)
    make_staff(runtime.sessions, code="K001", name="行銷小組", role="marketer")
    users = _shoppers(runtime, platform)
    make_template(runtime.sessions)
    shop = _online_shop_key(runtime)
    width, height = (1280, 900) if size == "desktop" else (390, 844)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-TW")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{base_url}/staff/login")
        page.fill("input[name=code]", "K001")
        page.fill("input[name=password]", STAFF_PASSWORD)
        page.click("button[type=submit]")

        # The segment: members bound to LINE (four of the five).
        page.goto(f"{base_url}/staff/console/segments")
        page.get_by_test_id("new-segment").click()
        page.get_by_test_id("segment-name").fill("LINE 好友會員")
        page.get_by_test_id("add-condition").last.click()
        page.get_by_test_id("condition").nth(0).get_by_test_id("condition-kind").select_option("line_bound")
        expect(page.get_by_test_id("preview-count")).to_have_text("4")
        expect(page.get_by_test_id("preview-reachable")).to_have_text("4")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_screenshot(page, f"console-segment-{size}")
        page.get_by_test_id("save-segment").click()
        expect(page.get_by_role("status")).to_have_text("已儲存分群「LINE 好友會員」")

        # The campaign: a text with the coupon, a quarter kept as the holdout, previewed, scheduled for 15:00.
        page.goto(f"{base_url}/staff/console/campaigns/new")
        page.fill("input[name=name]", "冬季回饋")
        page.select_option("select[name=segment_id]", label="LINE 好友會員")
        page.fill("textarea[name=text]", "{name} 您好，冬季回饋開跑")
        page.fill("input[name=holdout_percent]", "25")
        page.select_option("select[name=coupon_template_id]", label="滿 300 折 50（NT50OFF）")
        page.click("#preview-campaign")
        expect(page.get_by_test_id("reach")).to_contain_text("4 人")
        expect(page.get_by_test_id("chat-preview")).to_contain_text("王小明 您好，冬季回饋開跑")
        expect(page.get_by_test_id("chat-preview")).to_contain_text("已送您一張優惠券「滿 300 折 50」")
        page.check("input[name=when][value=later]")
        page.fill("input[name=send_at]", "2026-11-30T15:00")
        page.click("#save-campaign")
        expect(page.get_by_role("status")).to_have_text("已排程推播活動「冬季回饋」")
        expect(page.get_by_test_id("report-link")).to_have_count(0)  # nothing to report before it starts

        # The minute job at 15:00 starts it and delivers it to the local LINE platform.
        clock.set(SENT_AT)
        tasks.send_due_campaigns.call_local()
        campaign_id = session.scalars(select(Campaign.id).where(Campaign.name == "冬季回饋")).one()
        cohorts = dict(
            session.execute(
                select(Member.member_number, CampaignRecipient.cohort)
                .join(CampaignRecipient, CampaignRecipient.member_id == Member.id)
                .where(CampaignRecipient.campaign_id == campaign_id)
            ).all()
        )
        assert sorted(cohorts.values()) == ["A", "A", "A", "holdout"]
        said = {user: [m.get("text", "") for m in platform.bot_messages(user)] for user in users}
        reached = [user for user, texts in said.items() if any("冬季回饋開跑" in text for text in texts)]
        assert len(reached) == 3, said  # the holdout member is not sent it

        page.reload()
        expect(page.get_by_test_id("progress")).to_contain_text("3")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_screenshot(page, f"console-campaign-{size}")

        # A day later one of the recipients buys NT$1,280 in the online shop.
        clock.set(SENT_AT + timedelta(days=1))
        buyer = next(number for number, cohort in cohorts.items() if cohort == "A")
        answer = app.test_client().post(
            "/api/v1/purchases",
            json={"transaction_id": "WEB-1", "amount": 1280, "member_number": buyer, "channel": "online"},
            headers=shop,
        )
        assert answer.status_code == 201, answer.get_data(as_text=True)

        page.get_by_test_id("report-link").click()
        expect(page.get_by_test_id("revenue")).to_have_text("NT$ 1,280")
        cohorts_table = page.get_by_test_id("table-cohorts")
        expect(cohorts_table.locator("tbody tr").nth(0)).to_contain_text("A 版")
        expect(cohorts_table.locator("tbody tr").nth(0).locator("td[data-col='8']")).to_have_text("1,280")
        expect(page.get_by_test_id("table-channels")).to_contain_text("網路商店")
        expect(page.get_by_test_id("note-uplift")).to_contain_text("保留組只有 1 人")
        expect(page.get_by_test_id("people")).to_contain_text("行銷小組")
        expect(page.get_by_test_id("daily-chart")).to_have_attribute("data-rendered", "true")
        expect(page.get_by_test_id("table-daily").locator("tbody tr").nth(1)).to_contain_text("1,280")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_screenshot(page, f"console-report-{size}")

        # A window of one day ends before the purchase: nothing counted.
        page.fill("input[name=window]", "1")
        page.get_by_test_id("window-form").locator("button").click()
        expect(page.get_by_test_id("revenue")).to_have_text("NT$ 0")

        page.goto(f"{base_url}/staff/console/dashboard")
        expect(page.get_by_test_id("members")).to_have_text("5")
        expect(page.get_by_test_id("bound")).to_have_text("4")
        expect(page.get_by_test_id("active")).to_have_text("1")
        expect(page.get_by_test_id("members-chart")).to_have_attribute("data-rendered", "true")
        expect(page.get_by_test_id("engagement-chart")).to_have_attribute("data-rendered", "true")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        save_screenshot(page, f"console-dashboard-{size}")
    finally:
        context.close()
