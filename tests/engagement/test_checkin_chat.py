"""簽到 in the chat (signed webhooks through the local LINE platform): the week strip, the guest's invitation, the
reminder switch, and the evening reminder job (opted-in members, once a day, never in the quiet hours)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot import tasks
from models import CheckinReminder, OutboundMessage
from tests.binding_helpers import friend
from tests.engagement_helpers import checkin_at, seed
from tests.factories import make_member
from tests.helpers import texts

MONDAY_NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # Monday 12:00 in Taipei
GREEN = "#06C755"


def _ask(platform, user, text: str) -> list[dict]:
    seen = len(platform.bot_messages(user))
    platform.send_text(user, text)
    return platform.bot_messages(user)[seen:]


def _strip(message: dict) -> list[dict]:
    body = message["contents"]["body"]["contents"]
    strip = next(box for box in body if box["type"] == "box")
    return strip["contents"]


def test_checkin_answers_with_the_week_strip_today_marked_and_the_next_milestone(platform, runtime, clock):
    seed(runtime, MONDAY_NOON)
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    checkin_at(runtime, clock, member.id, MONDAY_NOON)
    clock.set(MONDAY_NOON + timedelta(days=1))

    reply = _ask(platform, user, "簽到")

    assert len(reply) == 1 and reply[0]["type"] == "flex"
    words = texts(reply)
    assert "今天簽到成功！" in words and "連續簽到 2 天" in words
    assert "再簽到 1 天（連續第 3 天）可獲得 10 點" in words
    days = _strip(reply[0])
    assert [day["contents"][1]["text"] for day in days] == ["●", "●", "○", "○", "○", "○", "○"]
    assert [day.get("borderColor") for day in days] == [None, GREEN, None, None, None, None, None]
    assert days[1]["contents"][2]["text"] == "今天"


def test_the_third_day_says_the_reward_and_a_second_tap_says_come_back_tomorrow(platform, runtime, clock, session):
    seed(runtime, MONDAY_NOON)
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    for n in (0, 1):
        checkin_at(runtime, clock, member.id, MONDAY_NOON + timedelta(days=n))
    clock.set(MONDAY_NOON + timedelta(days=2))

    seen = len(platform.bot_messages(user))
    platform.postback(user, "action=checkin", display_text="每日簽到")
    first = platform.bot_messages(user)[seen:]
    again = _ask(platform, user, "每日簽到")

    assert "★ 連續 3 天達成！獲得 10 點" in texts(first)
    assert "今天已經簽到過囉，明天再來！" in texts(again)
    assert not any("★" in text for text in texts(again))
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) >= 2


def test_checkin_is_in_english_for_an_english_speaking_member(platform, runtime, clock):
    seed(runtime, MONDAY_NOON)
    user = friend(platform, language="en")
    make_member(runtime.sessions, bound_to=user)
    clock.set(MONDAY_NOON)

    words = texts(_ask(platform, user, "checkin"))

    assert "Checked in for today!" in words and "1-day streak" in words
    assert "Mon" in words


def test_a_guest_is_invited_to_join_and_nothing_is_checked_in(platform, runtime, clock, session):
    user = friend(platform)
    clock.set(MONDAY_NOON)

    words = texts(_ask(platform, user, "簽到"))

    assert any("會員" in word for word in words)
    assert "今天簽到成功！" not in words


def _evening(hour: int, minute: int = 0) -> datetime:
    """Tuesday at hour:minute in Taipei."""
    return MONDAY_NOON + timedelta(days=1, hours=hour - 12, minutes=minute)


def test_the_reminder_goes_once_in_the_evening_to_members_who_opted_in(platform, runtime, clock, session):
    seed(runtime, MONDAY_NOON)
    opted_in, not_asked, checked_today = friend(platform, "甲"), friend(platform, "乙"), friend(platform, "丙")
    a = make_member(runtime.sessions, bound_to=opted_in)
    b = make_member(runtime.sessions, bound_to=not_asked, phone="+886922333444")
    c = make_member(runtime.sessions, bound_to=checked_today, phone="+886933444555")
    for member in (a, b, c):
        for n in (-1, 0):  # Sunday and Monday: a streak of 2
            checkin_at(runtime, clock, member.id, MONDAY_NOON + timedelta(days=n))
    clock.set(_evening(10))
    assert "已開啟簽到提醒" in texts(_ask(platform, opted_in, "簽到提醒 開"))[0]
    _ask(platform, checked_today, "簽到提醒 開")
    checkin_at(runtime, clock, c.id, _evening(12))

    seen = {user: len(platform.bot_messages(user)) for user in (opted_in, not_asked, checked_today)}
    for at in (_evening(19, 30), _evening(20), _evening(20, 30), _evening(21, 30)):
        clock.set(at)
        tasks.remind_checkin_streaks.call_local()

    reminded = platform.bot_messages(opted_in)[seen[opted_in] :]
    assert len(reminded) == 1 and "您已連續簽到 2 天，今天還沒簽到喔" in reminded[0]["text"]
    assert platform.bot_messages(not_asked)[seen[not_asked] :] == []
    assert platform.bot_messages(checked_today)[seen[checked_today] :] == []
    assert session.scalars(select(CheckinReminder.member_id)).all() == [a.id]


def test_no_reminder_in_the_quiet_hours_or_after_switching_it_off(platform, runtime, clock, session):
    seed(runtime, MONDAY_NOON)
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    for n in (-1, 0):
        checkin_at(runtime, clock, member.id, MONDAY_NOON + timedelta(days=n))
    clock.set(_evening(10))
    _ask(platform, user, "簽到提醒 開")

    for at in (_evening(22), _evening(23, 30), _evening(24 + 8, 30)):  # 22:00, 23:30, and 08:30 the next morning
        clock.set(at)
        tasks.remind_checkin_streaks.call_local()
    assert session.scalar(select(func.count(CheckinReminder.id))) == 0

    clock.set(_evening(10))
    assert "已關閉簽到提醒" in texts(_ask(platform, user, "簽到提醒 關"))[0]
    clock.set(_evening(20, 30))
    tasks.remind_checkin_streaks.call_local()
    assert session.scalar(select(func.count(CheckinReminder.id))) == 0
