"""簽到 on the local LINE platform's chat page: the member types it and sees this week's strip (checked days, a day
kept by a streak freeze, today framed) with the next milestone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db import transaction
from bot.services.engagement.checkins import grant_freezes
from models import Member
from tests.browser.conftest import save_screenshot
from tests.engagement_helpers import checkin_at, seed
from tests.factories import make_member

pytestmark = pytest.mark.browser

MONDAY_NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # Monday 12:00 in Taipei


def test_a_member_checks_in_from_the_chat_page_and_sees_the_week(page, base_url, app, platform, runtime, clock):
    seed(runtime, MONDAY_NOON)
    page.goto(f"{base_url}/dev/line")
    page.fill("#new-user-name", "林怡君")
    page.click("#create-user")
    page.click("#add-friend")
    page.locator(".bubble.bot", has_text="歡迎加入").first.wait_for()
    user = next(u.user_id for u in platform.users.values() if u.display_name == "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    with transaction(runtime.sessions) as tx:
        grant_freezes(tx, tx.get_one(Member, member.id), 1, reason="品牌贈送", key="screenshot", at=MONDAY_NOON)
    for day in (0, 1, 3):  # Monday, Tuesday, (Wednesday missed: the freeze keeps the streak) Thursday
        checkin_at(runtime, clock, member.id, MONDAY_NOON + timedelta(days=day))
    clock.set(MONDAY_NOON + timedelta(days=4, hours=-2))  # Friday 10:00

    page.fill("#message-input", "簽到")
    page.click("#send")

    card = page.locator(".bubble.bot", has_text="連續簽到 4 天")
    card.wait_for()
    assert card.get_by_text("今天簽到成功！").is_visible()
    assert card.get_by_text("再簽到 3 天（連續第 7 天）可獲得 優惠券「招牌麵包兌換券」").is_visible()
    assert card.get_by_text("今天", exact=True).is_visible()
    assert card.get_by_text("❄").is_visible()
    card.scroll_into_view_if_needed()
    save_screenshot(page, "checkin-strip")
