"""My points in the chat: the balance, the tier and what the next one needs, the latest five entries with Taipei
dates, points expiring soon; a guest gets the invitation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.db import transaction
from bot.services.rewards.ledger import post_points
from models import Member
from tests.binding_helpers import friend
from tests.factories import make_member
from tests.helpers import texts
from tests.pos import open_shop
from tests.stamp_helpers import T0, TPE, make_purchase

NOW = T0 + timedelta(hours=1)


@pytest.fixture(autouse=True)
def _at_now(clock):
    clock.set(NOW)


def _post(runtime, member, points: int, reason: str, at: datetime, kind: str = "earn", expires_at=None) -> None:
    with transaction(runtime.sessions) as tx:
        post_points(
            tx,
            member.id,
            points,
            kind=kind,
            reason=reason,
            channel="pos",
            idempotency_key=f"test:{at.isoformat()}:{reason}",
            at=at,
            expires_at=expires_at,
        )


def _ask(platform, user, text: str = "我的點數") -> dict:
    seen = len(platform.bot_messages(user))
    platform.send_text(user, text)
    (message,) = platform.bot_messages(user)[seen:]
    return message


def _rows(bubble: dict) -> list[list[str]]:
    return [texts(row) for row in bubble["body"]["contents"] if row["type"] == "box"]


def test_a_member_sees_balance_tier_next_tier_and_the_latest_five_entries(platform, runtime):
    open_shop(runtime.sessions)
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    make_purchase(runtime.sessions, member, 1_000, NOW - timedelta(days=40))
    _post(runtime, member, 500, "入會禮", datetime(2025, 5, 1, 10, tzinfo=TPE))
    _post(runtime, member, 120, "消費", datetime(2025, 5, 10, 10, tzinfo=TPE))
    _post(runtime, member, 30, "消費", datetime(2025, 5, 20, 0, 30, tzinfo=TPE))  # still 19 May in UTC
    _post(runtime, member, -200, "折抵", datetime(2025, 5, 25, 10, tzinfo=TPE), kind="spend")
    _post(runtime, member, 80, "消費", datetime(2025, 5, 28, 10, tzinfo=TPE))
    _post(runtime, member, -30, "退貨", datetime(2025, 5, 30, 10, tzinfo=TPE), kind="reverse")

    message = _ask(platform, user)

    bubble = message["contents"]
    assert message["altText"] == "我的點數"
    assert texts(bubble["header"]) == ["我的點數", "500 點"]
    body = texts(bubble["body"])
    assert body[:2] == ["一般會員", "近 12 個月再消費 NT$9,000 即可升級為銀卡會員"]
    assert _rows(bubble) == [
        ["05/30", "退貨", "−30"],
        ["05/28", "消費", "+80"],
        ["05/25", "折抵", "−200"],
        ["05/20", "消費", "+30"],
        ["05/10", "消費", "+120"],
    ]


def test_points_expiring_within_30_days_are_pointed_out(platform, runtime):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    soon = datetime(2025, 6, 20, 23, 59, 59, tzinfo=TPE)
    _post(runtime, member, 300, "消費", datetime(2024, 6, 1, tzinfo=TPE), expires_at=soon)
    _post(runtime, member, 100, "消費", datetime(2025, 5, 1, tzinfo=TPE), expires_at=datetime(2026, 12, 31, tzinfo=TPE))
    _post(runtime, member, -50, "折抵", datetime(2025, 5, 2, tzinfo=TPE), kind="spend")

    body = texts(_ask(platform, user)["contents"]["body"])

    assert "250 點將於 2025-06-20 到期，記得使用喔！" in body


def test_a_gold_member_is_told_they_are_at_the_top_and_nothing_expires(platform, runtime, session):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    with transaction(runtime.sessions) as tx:
        row = tx.get(Member, member.id)
        assert row is not None
        row.tier = "gold"

    bubble = _ask(platform, user, "points")["contents"]

    assert texts(bubble["body"]) == ["金卡會員", "您已是最高等級，感謝您的支持！", "最近紀錄", "還沒有點數紀錄"]
    assert texts(bubble["header"]) == ["我的點數", "0 點"]


def test_the_points_view_speaks_english(platform, runtime):
    user = friend(platform, "Amy", language="en")
    member = make_member(runtime.sessions, bound_to=user)
    _post(runtime, member, 120, "消費", datetime(2025, 5, 10, 10, tzinfo=TPE))

    bubble = _ask(platform, user, "points")["contents"]

    assert texts(bubble["header"]) == ["My points", "120 points"]
    assert texts(bubble["body"])[:2] == ["Regular", "Spend NT$10,000 more (rolling 12 months) to reach Silver"]
    assert _rows(bubble) == [["05/10", "Purchase", "+120"]]


def test_points_and_profile_are_separate_actions(platform, runtime):
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)

    points = _ask(platform, user, "點數")
    profile = _ask(platform, user, "會員資料")

    assert points["altText"] == "我的點數"
    assert profile["altText"] == "我的會員資料"


def test_a_guest_asking_for_points_is_invited_to_join(platform):
    user = friend(platform)

    message = _ask(platform, user)

    labels = [button["action"]["label"] for button in message["contents"]["footer"]["contents"]]
    assert labels[0] == "加入會員"
