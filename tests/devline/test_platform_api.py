"""The local LINE platform answers the Messaging API as LINE does, and refuses what LINE refuses."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from bot.devline import DevLinePlatform

AUTH = {"Authorization": "Bearer t"}
HELLO = [{"type": "text", "text": "今天買麵包送點數 🍞"}]


def post(api: FlaskClient, path: str, body: Any = None, **headers: str) -> Any:
    return api.post("/dev/line" + path, json=body, headers={**AUTH, **headers})


def reply(api: FlaskClient, token: str, messages: list[dict[str, Any]] = HELLO) -> Any:
    return post(api, "/v2/bot/message/reply", {"replyToken": token, "messages": messages})


def push(api: FlaskClient, to: str, messages: list[dict[str, Any]] = HELLO, **headers: str) -> Any:
    return post(api, "/v2/bot/message/push", {"to": to, "messages": messages}, **headers)


def friend(platform: DevLinePlatform, name: str = "阿明") -> str:
    return platform.create_user(name, friend=True)


# Replies


def test_a_reply_reaches_the_user_with_a_sent_message_id(api, platform):
    user = platform.create_user("阿明")
    token = platform.build_event("message", user, text="嗨")["replyToken"]

    answer = reply(api, token)

    assert answer.status_code == 200
    (sent,) = answer.json["sentMessages"]
    assert sent["id"].isdigit() and sent["quoteToken"]
    assert platform.bot_messages(user) == HELLO
    assert platform.chat(user)[0]["via"] == "reply"


def test_a_reply_token_is_refused_the_second_time(api, platform):
    user = platform.create_user("阿明")
    token = platform.build_event("message", user, text="嗨")["replyToken"]
    reply(api, token)

    again = reply(api, token)

    assert again.status_code == 400
    assert again.json == {"message": "Invalid reply token"}
    assert platform.bot_messages(user) == HELLO


def test_an_unknown_reply_token_is_refused(api, platform):
    assert reply(api, "0" * 32).json == {"message": "Invalid reply token"}


def test_an_old_reply_token_is_refused(api, platform, clock):
    user = platform.create_user("阿明")
    token = platform.build_event("follow", user)["replyToken"]
    clock.advance(seconds=61)

    answer = reply(api, token)

    assert answer.status_code == 400
    assert answer.json["message"] == "Invalid reply token"
    assert platform.bot_messages(user) == []


def test_a_redelivered_event_brings_its_reply_token_back_to_life_within_20_minutes(api, platform, clock):
    user = platform.create_user("阿明")
    event = platform.build_event("message", user, text="嗨")
    clock.advance(minutes=5)

    platform.deliver([event], redelivery=True)  # the webhook is unreachable here; the token still counts

    assert reply(api, event["replyToken"]).status_code == 200


def test_a_redelivery_after_20_minutes_does_not_revive_the_reply_token(api, platform, clock):
    user = platform.create_user("阿明")
    event = platform.build_event("message", user, text="嗨")
    clock.advance(minutes=21)

    platform.deliver([event], redelivery=True)

    assert reply(api, event["replyToken"]).status_code == 400


# Message rules


def test_more_than_five_messages_are_refused(api, platform):
    user = friend(platform)

    answer = push(api, user, HELLO * 6)

    assert answer.status_code == 400
    assert answer.json["details"] == [{"message": "Size must be between 1 and 5", "property": "messages"}]
    assert platform.bot_messages(user) == []


def test_an_empty_message_list_is_refused(api, platform):
    assert push(api, friend(platform), []).status_code == 400


def test_an_invalid_message_body_is_refused(api, platform):
    user = friend(platform)

    unknown_type = push(api, user, [{"type": "hologram"}])
    no_text = push(api, user, [{"type": "text"}])
    empty_text = push(api, user, [{"type": "text", "text": ""}])
    not_json = api.post("/dev/line/v2/bot/message/push", data=b"{nope", content_type="application/json", headers=AUTH)

    assert [r.status_code for r in (unknown_type, no_text, empty_text, not_json)] == [400] * 4
    assert no_text.json["message"] == "The request body has 1 error(s)"
    assert no_text.json["details"][0]["property"] == "messages[0].text"
    assert empty_text.json["details"] == [{"message": "May not be empty", "property": "messages[0].text"}]
    assert platform.bot_messages(user) == []


def test_a_flex_message_passes_and_arrives_as_sent(api, platform):
    user = friend(platform)
    card = {
        "type": "flex",
        "altText": "集點卡",
        "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": []}},
    }

    assert push(api, user, [card]).status_code == 200
    assert platform.bot_messages(user) == [card]


def test_multicast_to_more_than_500_users_is_refused(api, platform):
    users = [friend(platform, f"會員{n}") for n in range(3)]

    answer = post(api, "/v2/bot/message/multicast", {"to": users * 167, "messages": HELLO})

    assert answer.status_code == 400
    assert answer.json["details"] == [{"message": "Size must be between 1 and 500", "property": "to"}]
    assert all(platform.bot_messages(user) == [] for user in users)


def test_multicast_reaches_friends_but_not_users_who_blocked(api, platform):
    fan, gone = friend(platform, "阿明"), friend(platform, "小美")
    platform.unfollow(gone)

    answer = post(api, "/v2/bot/message/multicast", {"to": [fan, gone], "messages": HELLO})

    assert (answer.status_code, answer.json) == (200, {})
    assert (platform.bot_messages(fan), platform.bot_messages(gone)) == (HELLO, [])


def test_a_push_to_a_user_who_blocked_is_accepted_but_not_delivered(api, platform):
    user = friend(platform)
    platform.unfollow(user)

    answer = push(api, user)

    assert answer.status_code == 200
    assert platform.bot_messages(user) == []


def test_a_push_to_a_user_who_never_added_the_account_is_not_delivered(api, platform):
    user = platform.create_user("路人")

    assert push(api, user).status_code == 200
    assert platform.bot_messages(user) == []


def test_a_push_to_a_non_friend_who_wrote_this_week_is_delivered(api, platform):
    user = platform.create_user("路人")
    platform.send_text(user, "請問營業時間？")

    assert push(api, user).status_code == 200
    assert platform.bot_messages(user) == HELLO


def test_a_push_to_a_user_id_unknown_to_the_channel_is_refused(api, platform):
    unknown = push(api, "U" + "0" * 32)
    malformed = push(api, "someone")

    assert (unknown.status_code, unknown.json["message"]) == (400, "Failed to send messages")
    assert malformed.status_code == 400


def test_broadcast_reaches_every_friend(api, platform):
    fans = [friend(platform, f"會員{n}") for n in range(2)]
    stranger = platform.create_user("路人")

    answer = post(api, "/v2/bot/message/broadcast", {"messages": HELLO})

    assert (answer.status_code, answer.json) == (200, {})
    assert [platform.bot_messages(user) for user in [*fans, stranger]] == [HELLO, HELLO, []]


def test_narrowcast_is_accepted_with_202_and_its_progress_can_be_asked(api, platform):
    friend(platform)

    answer = post(api, "/v2/bot/message/narrowcast", {"messages": HELLO})
    request_id = answer.headers["X-Line-Request-Id"]
    progress = api.get(f"/dev/line/v2/bot/message/progress/narrowcast?requestId={request_id}", headers=AUTH)

    assert answer.status_code == 202
    assert progress.json["phase"] == "succeeded" and progress.json["successCount"] == 1


# Retry keys


def test_a_repeated_retry_key_is_answered_409(api, platform):
    user = friend(platform)
    key = str(uuid.uuid4())
    first = push(api, user, **{"X-Line-Retry-Key": key})

    again = push(api, user, **{"X-Line-Retry-Key": key})

    assert (first.status_code, again.status_code) == (200, 409)
    assert again.json == {
        "message": "The retry key is already accepted",
        "sentMessages": first.json["sentMessages"],
    }
    assert again.headers["X-Line-Accepted-Request-Id"] == first.headers["X-Line-Request-Id"]
    assert platform.bot_messages(user) == HELLO
    assert [r["status"] for r in platform.requests if r["retry_key"] == key] == [200, 409]


def test_a_retry_key_on_reply_is_refused(api, platform):
    user = platform.create_user("阿明")
    token = platform.build_event("message", user, text="嗨")["replyToken"]

    answer = post(
        api,
        "/v2/bot/message/reply",
        {"replyToken": token, "messages": HELLO},
        **{"X-Line-Retry-Key": str(uuid.uuid4())},
    )

    assert answer.status_code == 400
    assert platform.bot_messages(user) == []
    assert reply(api, token).status_code == 200, "the refused call did not use up the reply token"


def test_a_retry_key_that_is_not_a_uuid_is_refused(api, platform):
    assert push(api, friend(platform), **{"X-Line-Retry-Key": "attempt-1"}).status_code == 400


def test_a_failed_call_delivers_nothing_and_leaves_the_retry_key_unused(api, platform):
    user = friend(platform)
    key = str(uuid.uuid4())
    platform.fail_next("/v2/bot/message/push", 500, times=2)

    statuses = [push(api, user, **{"X-Line-Retry-Key": key}).status_code for _ in range(4)]

    assert statuses == [500, 500, 200, 409]
    assert platform.bot_messages(user) == HELLO
    assert [r["retry_key"] for r in platform.requests] == [key] * 4


# Auth and the request log


def test_a_wrong_access_token_is_refused(api, platform):
    user = friend(platform)

    wrong = api.post(
        "/dev/line/v2/bot/message/push",
        json={"to": user, "messages": HELLO},
        headers={"Authorization": "Bearer not-the-token"},
    )
    missing = api.get(f"/dev/line/v2/bot/profile/{user}")

    assert (wrong.status_code, missing.status_code) == (401, 401)
    assert wrong.json == {
        "message": "Authentication failed. Confirm that the access token in the authorization header is valid."
    }
    assert platform.bot_messages(user) == []


def test_every_answer_carries_a_request_id_and_is_logged(api, platform):
    answers = [push(api, friend(platform)), reply(api, "nope")]

    assert all(answer.headers.get("X-Line-Request-Id") for answer in answers)
    assert [(r["method"], r["path"], r["status"]) for r in platform.requests] == [
        ("POST", "/v2/bot/message/push", 200),
        ("POST", "/v2/bot/message/reply", 400),
    ]


def test_quota_and_consumption_count_pushed_messages_per_recipient(api, platform):
    push(api, friend(platform), HELLO * 3)

    quota = api.get("/dev/line/v2/bot/message/quota", headers=AUTH).json
    used = api.get("/dev/line/v2/bot/message/quota/consumption", headers=AUTH).json

    assert quota["type"] == "limited" and quota["value"] > 0
    assert used == {"totalUsage": 1}


def test_multicast_over_the_rate_limit_is_answered_429_and_not_carried_out(api, platform):
    fan = friend(platform)
    platform.set_rate_limit("multicast", 3, 60)

    answers = [post(api, "/v2/bot/message/multicast", {"to": [fan], "messages": HELLO}) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json == {"message": "The API rate limit has been exceeded. Try again later."}
    assert platform.bot_messages(fan) == HELLO * 3 and platform.rate_limited == 1


def test_multicast_to_a_malformed_user_id_is_refused(api, platform):
    fan = friend(platform)

    answer = post(api, "/v2/bot/message/multicast", {"to": [fan, "U123"], "messages": HELLO})

    assert answer.status_code == 400
    assert answer.json["message"] == "The property, 'to[1]', in the request body is invalid (line: -, column: -)"
    assert platform.bot_messages(fan) == []
