"""Stamp cards in the chat: a carousel of the member's open cards, how to earn with none yet, the invitation for a
guest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.db import transaction
from bot.services.rewards.stamps import stamps_for_purchase
from models import Member, Purchase, StampCard
from tests.binding_helpers import friend
from tests.coupon_helpers import make_template as make_coupon_template
from tests.factories import make_member
from tests.helpers import texts
from tests.pos import open_shop
from tests.stamp_helpers import T0, make_purchase, make_stamp_template

GREEN = "#06C755"


@pytest.fixture(autouse=True)
def _an_hour_after_t0(clock):
    clock.set(T0 + timedelta(hours=1))


@pytest.fixture
def bread(runtime):
    open_shop(runtime.sessions)
    reward = make_coupon_template(
        runtime.sessions, "FREEBREAD", name="招牌麵包兌換券", kind="free_item", item="招牌麵包", value=0, min_spend=0
    )
    return make_stamp_template(runtime.sessions, valid_days=180, daily_limit=3, reward_coupon_template_id=reward.id)


def _buy(runtime, member, amount: int) -> None:
    purchase = make_purchase(runtime.sessions, member, amount)
    with transaction(runtime.sessions) as tx:
        row, bought = tx.get(Member, member.id), tx.get(Purchase, purchase.id)
        assert row is not None and bought is not None
        stamps_for_purchase(tx, row, bought, T0)


def _ask(platform, user, text: str = "集點卡") -> list[dict]:
    seen = len(platform.bot_messages(user))
    platform.send_text(user, text)
    return platform.bot_messages(user)[seen:]


def _stamps(bubble: dict) -> list[tuple[str, str]]:
    cells = [cell for row in bubble["body"]["contents"] if row["type"] == "box" for cell in row["contents"]]
    return [(cell["text"], cell["color"]) for cell in cells if cell["type"] == "text"]


def test_a_member_sees_each_open_card_with_its_stamps_progress_expiry_and_reward(platform, runtime, bread):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    make_stamp_template(
        runtime.sessions, "VISIT5", name="來店集點", rule="per_visit", amount_per_stamp=None, stamps_to_fill=5
    )
    _buy(runtime, member, 380)

    (message,) = _ask(platform, user)

    assert message["type"] == "flex" and message["altText"] == "我的集點卡"
    first, second = message["contents"]["contents"]
    assert _stamps(first) == [("●", GREEN)] * 3 + [("○", "#BBBBBB")] * 7
    assert texts(first) == [
        "麵包集點卡",
        "每消費 NT$100 集 1 點",
        *["●"] * 3,
        *["○"] * 7,
        "3 / 10",
        "集滿 10 點送「招牌麵包兌換券」",
        "有效期限 2025-11-27",
    ]
    assert texts(second)[:2] == ["來店集點", "每次來店集 1 點"]
    assert "1 / 5" in texts(second) and "無使用期限" in texts(second) and "集滿 5 點" in texts(second)
    assert first["footer"]["contents"][0]["action"]["data"] == "action=barcode"


def test_the_carousel_speaks_english_to_an_english_speaking_member(platform, runtime, bread):
    user = friend(platform, "Amy", language="en")
    member = make_member(runtime.sessions, bound_to=user)
    _buy(runtime, member, 200)

    (message,) = _ask(platform, user, "stamps")

    (bubble,) = message["contents"]["contents"]
    assert message["altText"] == "My stamp cards"
    assert texts(bubble)[:2] == ["Bread stamp card", "1 stamp for every NT$100 spent"]
    assert "2 / 10" in texts(bubble) and "Valid until 2025-11-27" in texts(bubble)


def test_a_member_without_cards_is_told_how_to_earn(platform, runtime, bread):
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)

    (message,) = _ask(platform, user)

    assert message["text"] == (
        "您目前沒有進行中的集點卡，集點方式：\n"
        "・麵包集點卡：每消費 NT$100 集 1 點，集滿 10 點送「招牌麵包兌換券」\n"
        "結帳時出示「會員條碼」就能集點。"
    )


def test_with_no_card_running_the_member_is_told_so(platform, runtime):
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)

    assert texts(_ask(platform, user)) == ["目前沒有進行中的集點活動，有新活動時會在這裡通知您！"]


def test_a_guest_is_invited_to_join_or_bind(platform, settings):
    user = friend(platform)

    (message,) = _ask(platform, user)

    buttons = {b["action"]["label"]: b["action"] for b in message["contents"]["footer"]["contents"]}
    assert buttons["加入會員"]["uri"].startswith(f"{settings.public_base_url}/members/join?t=")


def test_the_menu_no_longer_says_stamp_cards_are_coming_soon(platform, runtime):
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)

    platform.postback(user, "action=stamps")

    assert not any("即將開放" in text for text in texts(platform.bot_messages(user)))


def test_a_card_not_stamped_yet_says_how_long_it_works_from_the_first_stamp(platform, runtime, bread):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    with transaction(runtime.sessions) as tx:
        tx.add(StampCard(member_id=member.id, template_id=bread.id, stamps=0))

    (message,) = _ask(platform, user)

    (bubble,) = message["contents"]["contents"]
    assert "0 / 10" in texts(bubble) and "第一次集點起 180 天內有效" in texts(bubble)
