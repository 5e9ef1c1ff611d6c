"""Users act on the local LINE platform and the bot's webhook gets signed bodies that line-bot-sdk accepts."""

from __future__ import annotations

import json

from linebot.v3 import WebhookParser
from linebot.v3.webhooks import (
    AccountLinkEvent,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from bot.devline import DevLinePlatform
from bot.devline.events import sign


def test_every_event_the_platform_builds_parses_with_line_bot_sdk(platform):
    user = platform.create_user("阿明")
    events = [
        platform.build_event("follow", user, unblocked=True),
        platform.build_event("message", user, text="我想看集點卡 🍞☕️"),
        platform.build_event("postback", user, data="action=points", params={"date": "2026-03-01"}),
        platform.build_event("accountLink", user, nonce="n0nce-0123456789", result="ok"),
        platform.build_event("unfollow", user, mode="standby"),
    ]
    body, signature = platform.signed_body(events)

    payload = WebhookParser("s").parse(body.decode("utf-8"), signature, as_payload=True)

    follow, message, postback, link, unfollow = payload.events
    assert payload.destination == platform.bot_user_id
    assert isinstance(follow, FollowEvent) and follow.follow.is_unblocked is True
    assert isinstance(message, MessageEvent) and isinstance(message.message, TextMessageContent)
    assert message.message.text == "我想看集點卡 🍞☕️" and message.message.quote_token
    assert isinstance(postback, PostbackEvent) and postback.postback.params == {"date": "2026-03-01"}
    assert isinstance(link, AccountLinkEvent) and link.link.nonce == "n0nce-0123456789"
    assert isinstance(unfollow, UnfollowEvent) and unfollow.mode.value == "standby"
    assert "replyToken" not in events[4]
    assert all(event["source"] == {"type": "user", "userId": user} for event in events)
    assert len({event["webhookEventId"] for event in events}) == 5


def test_a_failed_account_link_carries_no_reply_token(platform):
    event = platform.build_event("accountLink", platform.create_user("阿明"), nonce="n" * 16, result="failed")

    assert "replyToken" not in event and event["link"] == {"result": "failed", "nonce": "n" * 16}


def test_the_webhook_gets_the_exact_signed_bytes_with_cjk_and_emoji_as_utf8(webhook):
    platform = DevLinePlatform("channel-secret", webhook.url)
    user = platform.create_user("小美 🌸")

    delivery = platform.send_text(user, "我想看集點卡 🍞☕️")

    ((body, headers),) = webhook.received
    assert (delivery.status, delivery.body) == (200, "OK")
    assert "我想看集點卡 🍞☕️".encode() in body
    assert headers["X-Line-Signature"] == sign("channel-secret", body)
    assert json.loads(body)["events"] == [delivery.event]


def test_a_refused_webhook_answer_is_returned_not_raised(webhook):
    platform = DevLinePlatform("channel-secret", webhook.url)
    webhook.answer = (400, b"invalid signature")

    delivery = platform.deliver([], signature="d3Jvbmc=")

    assert (delivery.status, delivery.body) == (400, "invalid signature")
    assert webhook.received[0][1]["X-Line-Signature"] == "d3Jvbmc="


def test_an_unreachable_webhook_answers_status_0(platform):
    assert platform.follow(platform.create_user("阿明")).status == 0


def test_a_redelivery_sends_the_same_event_id_marked_as_redelivered(webhook):
    platform = DevLinePlatform("channel-secret", webhook.url)
    event = platform.build_event("follow", platform.create_user("阿明"))

    platform.deliver([event])
    platform.deliver([event], redelivery=True)

    first, again = (json.loads(body)["events"][0] for body, _ in webhook.received)
    assert first["webhookEventId"] == again["webhookEventId"]
    assert (first["deliveryContext"], again["deliveryContext"]) == ({"isRedelivery": False}, {"isRedelivery": True})
    assert event["deliveryContext"] == {"isRedelivery": False}, "the caller's event is left as it was"


def test_following_and_blocking_change_the_friend_state(platform):
    user = platform.create_user("阿明")

    platform.follow(user)
    assert platform.users[user].friendship == "friend"
    platform.unfollow(user)
    assert platform.users[user].friendship == "blocked"


def test_what_a_user_writes_or_taps_with_display_text_shows_in_their_chat(platform):
    user = platform.create_user("阿明")

    platform.send_text(user, "哈囉\n第二行")
    platform.postback(user, "action=points", display_text="我的點數")

    assert [(entry["from"], entry["message"]["text"]) for entry in platform.chat(user)] == [
        ("user", "哈囉\n第二行"),
        ("user", "我的點數"),
    ]
    assert platform.bot_messages(user) == []


def test_reset_forgets_everyone(platform):
    platform.create_user("阿明")
    platform.fail_next("/push", 500)

    platform.reset()

    assert (platform.users, platform.requests, platform.rich_menus) == ({}, [], {})
