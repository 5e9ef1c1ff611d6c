"""Staff referral in a real browser: the shopper's landing page opens the chat with the code typed in, and a manager
reads the report with its chart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from bot.db import transaction
from bot.services.membership.binding import bind
from bot.services.staff.referrals import referral_code_for, typed_message
from models import LineUser, Member, Purchase, Staff
from tests.browser.conftest import save_screenshot
from tests.factories import STAFF_PASSWORD, make_staff, make_store

pytestmark = pytest.mark.browser


def code_of(runtime, staff: Staff) -> str:
    with transaction(runtime.sessions) as session:
        return referral_code_for(session, session.get_one(Staff, staff.id), datetime.now(UTC)).code


def referred(runtime, staff: Staff, *, joins: int, spend: list[int]) -> None:
    """`joins` shoppers who came with the clerk's code and joined; the first of them spent `spend` online."""
    from bot.services.staff.referrals import record_touch

    code = code_of(runtime, staff)
    now = datetime.now(UTC) - timedelta(hours=1)
    with transaction(runtime.sessions) as session:
        for index in range(joins):
            line_user = LineUser(line_user_id="U" + uuid.uuid4().hex, display_name="客人", followed_at=now)
            session.add(line_user)
            session.flush()
            record_touch(session, line_user, code, now)
            member = Member(member_number=f"R{staff.code}{index}", name="客人")
            session.add(member)
            session.flush()
            bind(session, member, line_user, channel="line_page", at=now)
            for number, amount in enumerate(spend if index == 0 else []):
                session.add(
                    Purchase(
                        store_id=staff.store_id,
                        channel="online",
                        transaction_id=f"W-{staff.code}-{number}",
                        request_hash="0" * 64,
                        member_id=member.id,
                        amount=amount,
                        response={},
                        created_at=now + timedelta(minutes=5),
                    )
                )


def sign_in(page, base_url: str, code: str) -> None:
    page.goto(f"{base_url}/staff/login")
    page.fill("input[name=code]", code)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/staff/login" not in url)


def test_the_landing_page_opens_the_local_chat_with_the_code_typed_in(page, base_url, app, runtime):
    clerk = make_staff(runtime.sessions)
    code = code_of(runtime, clerk)

    page.goto(f"{base_url}/r/{code}")
    expect(page.get_by_test_id("referrer")).to_contain_text("台北信義店的王小美")
    page.get_by_test_id("open-line").click()
    page.wait_for_url(lambda url: "/dev/line" in url)
    page.fill("#new-user-name", "林小姐")
    page.click("#create-user")
    page.click("#add-friend")
    page.locator(".bubble.bot", has_text="歡迎加入").first.wait_for()

    expect(page.locator("#message-input")).to_have_value(typed_message(code))
    page.click("#send")

    page.locator(".bubble.bot", has_text="感謝您透過台北信義店的王小美加入").wait_for()


def test_a_manager_reads_the_referral_report_with_its_chart(page, base_url, app, runtime):
    store = make_store(runtime.sessions)
    make_staff(runtime.sessions, code="M001", name="張店長", role="manager", store=store)
    first = make_staff(runtime.sessions, code="C001", name="王小美", store=store)
    second = make_staff(runtime.sessions, code="C002", name="陳大文", store=store)
    third = make_staff(runtime.sessions, code="C003", name="林佳穎", store=store)
    referred(runtime, first, joins=3, spend=[1280, 460])
    referred(runtime, second, joins=1, spend=[2350])
    referred(runtime, third, joins=2, spend=[])

    sign_in(page, base_url, "M001")
    # From the brand's day of the joins (an hour ago): in the first hour of a month the default period (this month)
    # would not hold them.
    since = (datetime.now(UTC) - timedelta(hours=1)).astimezone(runtime.settings.tz).date()
    page.goto(f"{base_url}/staff/referrals/report?start={since.isoformat()}")

    row = page.get_by_test_id("row-C001")
    expect(row.locator("[data-col=joins]")).to_have_text("3")
    expect(row.locator("[data-col=purchases]")).to_have_text("2")
    expect(row.locator("[data-col=revenue]")).to_have_text("1,740")
    chart = page.get_by_test_id("referral-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200
    expect(page.get_by_test_id("csv")).to_be_visible()
    save_screenshot(page, "referral-report")


def test_a_clerk_shows_their_qr_code_on_a_phone_and_prints_it_alone(phone_page, base_url, app, runtime):
    make_staff(runtime.sessions)

    sign_in(phone_page, base_url, "C001")
    phone_page.goto(f"{base_url}/staff/referrals/mine")

    qr = phone_page.get_by_test_id("referral-qr")
    box = qr.bounding_box()
    assert box is not None and 200 < box["width"] <= 390, "the QR code is big and fits the phone"
    expect(phone_page.get_by_test_id("referral-link")).to_be_visible()
    phone_page.emulate_media(media="print")
    expect(phone_page.locator(".topbar")).to_be_hidden()
    expect(phone_page.get_by_test_id("referral-link")).to_be_hidden()
    expect(phone_page.get_by_test_id("referral-staff")).to_have_text("王小美")
    expect(qr).to_be_visible()
