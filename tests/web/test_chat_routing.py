"""Keywords and postbacks lead to the same actions; anything else gets a helpful menu."""

from __future__ import annotations

from tests.helpers import texts


def _follow(platform, name="阿明", language="zh-TW"):
    user = platform.create_user(name, language=language)
    platform.follow(user)
    return user, len(platform.bot_messages(user))


def test_an_unknown_text_gets_a_helpful_menu(platform):
    user, seen = _follow(platform)

    platform.send_text(user, "今天天氣真好")

    answer = platform.bot_messages(user)[seen:]
    assert "抱歉，我看不懂這則訊息。請從下方選單選擇想做的事。" in texts(answer)
    assert answer[-1]["type"] == "flex"
    assert answer[-1]["quickReply"]["items"], "LINE shows quick replies only on the last message of a batch"


def test_the_help_keyword_and_the_help_postback_give_the_same_menu(platform):
    user, seen = _follow(platform)

    platform.send_text(user, "選單")
    by_keyword = platform.bot_messages(user)[seen:]
    platform.postback(user, "action=help")
    by_postback = platform.bot_messages(user)[seen + len(by_keyword) :]

    assert by_keyword == by_postback
    assert by_keyword[0]["type"] == "flex"


def test_menu_buttons_post_back_the_documented_actions(platform):
    user, seen = _follow(platform)

    platform.postback(user, "action=help")

    menu = platform.bot_messages(user)[seen]
    datas = [b["action"]["data"] for b in menu["contents"]["footer"]["contents"]]
    assert datas == [  # only what is built: 任務 is not offered until it is
        f"action={name}" for name in ("bind", "barcode", "points", "stamps", "coupons", "news", "stores")
    ]


def test_an_unknown_postback_action_gets_the_menu_not_an_error(platform):
    user, seen = _follow(platform)

    delivery = platform.postback(user, "action=doesNotExist")

    assert delivery.status == 200
    assert "抱歉，我看不懂這則訊息。請從下方選單選擇想做的事。" in texts(platform.bot_messages(user)[seen:])


def test_an_english_user_gets_english_menus(platform):
    user, seen = _follow(platform, "Amy", "en")

    platform.send_text(user, "help")

    assert any("Tap a button below" in text for text in texts(platform.bot_messages(user)[seen:]))


def test_no_keyword_answers_that_its_feature_is_coming_soon_any_more(platform):
    user, seen = _follow(platform)

    for word in ("每日簽到", "每日任務", "抽獎"):
        platform.send_text(user, word)

    assert not any("即將開放" in text for text in texts(platform.bot_messages(user)[seen:]))


def test_a_member_asking_for_the_menu_is_offered_their_profile_not_to_join(platform, runtime):
    from tests.factories import make_member

    user, seen = _follow(platform)
    make_member(runtime.sessions, bound_to=user)

    platform.postback(user, "action=help")

    menu = platform.bot_messages(user)[seen]
    datas = [b["action"]["data"] for b in menu["contents"]["footer"]["contents"]]
    assert datas[0] == "action=profile" and "action=bind" not in datas
