"""最新活動 and 門市資訊 in the chat: what the programme offers now, and where the stores are, for anyone."""

from __future__ import annotations

from bot.db import transaction
from bot.services.demo import seed_demo_data
from tests.binding_helpers import friend
from tests.factories import make_member
from tests.helpers import texts
from tests.stamp_helpers import make_stamp_template


def _seed(runtime) -> None:
    with transaction(runtime.sessions) as session:
        seed_demo_data(session)


def test_a_guest_asking_for_the_news_sees_the_campaigns_and_tiers_and_is_invited_to_join(platform, runtime):
    _seed(runtime)
    user = friend(platform, "林怡君")
    seen = len(platform.bot_messages(user))

    platform.send_text(user, "最新活動")

    (card,) = platform.bot_messages(user)[seen:]
    shown = " ".join(texts([card]))
    assert "麵包集點卡：每消費 NT$100 集 1 點，集滿 10 點送「招牌麵包兌換券」" in shown
    assert "銀卡會員：近 12 個月消費滿 NT$10,000，點數 1.2 倍，生日禮「銀卡生日禮：折 100 元」" in shown
    assert card["contents"]["footer"]["contents"][0]["action"]["data"] == "action=bind"


def test_a_member_sees_the_news_with_a_way_to_their_points(platform, runtime):
    make_stamp_template(runtime.sessions)
    user = friend(platform, "林怡君")
    make_member(runtime.sessions, bound_to=user)
    seen = len(platform.bot_messages(user))

    platform.postback(user, "action=news")

    (card,) = platform.bot_messages(user)[seen:]
    assert card["contents"]["footer"]["contents"][0]["action"]["data"] == "action=points"


def test_the_stores_are_a_carousel_with_address_hours_map_and_phone_and_no_online_shop(platform, runtime):
    _seed(runtime)
    user = friend(platform, "Amy", language="en")
    seen = len(platform.bot_messages(user))

    platform.send_text(user, "門市資訊")

    (carousel,) = platform.bot_messages(user)[seen:]
    bubbles = carousel["contents"]["contents"]
    assert [b["body"]["contents"][0]["text"] for b in bubbles] == ["台北信義店", "台中勤美店"]
    first = " ".join(texts([{"type": "flex", "contents": bubbles[0]}]))
    assert "台北市信義區松仁路 100 號 1 樓" in first and "Opening hours" in first
    uris = [button["action"]["uri"] for button in bubbles[0]["footer"]["contents"]]
    assert uris[0].startswith("https://www.google.com/maps/search/?api=1&query=") and uris[1] == "tel:0227230000"


def test_a_brand_with_no_store_addresses_says_the_directory_is_coming(platform):
    user = friend(platform, "林怡君")
    seen = len(platform.bot_messages(user))

    platform.postback(user, "action=stores")

    assert texts(platform.bot_messages(user)[seen:]) == ["門市資訊即將更新，請稍後再查看。"]
