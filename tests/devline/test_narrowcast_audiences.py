"""Narrowcast to an uploaded audience on the local LINE platform, as LINE does it: the upload, reading the audience
back, delivery once to each friend in it, the retry key, and the refusal of an audience of fewer than 50."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient

from bot.devline import DevLinePlatform

AUTH = {"Authorization": "Bearer t"}
HELLO = [{"type": "text", "text": "週年慶開跑"}]


def _friends(platform: DevLinePlatform, n: int) -> list[str]:
    return [platform.create_user(f"好友{i}", friend=True) for i in range(n)]


def _upload(api: FlaskClient, ids: list[str], description: str = "週年慶 A") -> Any:
    body = {"description": description, "isIfaAudience": False, "audiences": [{"id": i} for i in ids]}
    return api.post("/dev/line/v2/bot/audienceGroup/upload", json=body, headers=AUTH)


def _narrowcast(api: FlaskClient, group_id: int, key: str) -> Any:
    body = {"messages": HELLO, "recipient": {"type": "audience", "audienceGroupId": group_id}}
    return api.post("/dev/line/v2/bot/message/narrowcast", json=body, headers={**AUTH, "X-Line-Retry-Key": key})


def _progress(api: FlaskClient, request_id: str) -> Any:
    return api.get(f"/dev/line/v2/bot/message/progress/narrowcast?requestId={request_id}", headers=AUTH).json


def test_an_uploaded_audience_is_read_back_with_the_count_of_users_line_knows(api, platform):
    users = _friends(platform, 3)
    stranger = "U" + "0" * 32  # well-formed, but no such user

    created = _upload(api, [*users, users[0], stranger])
    group_id = created.json["audienceGroupId"]
    added = api.put(
        "/dev/line/v2/bot/audienceGroup/upload",
        json={"audienceGroupId": group_id, "audiences": [{"id": u} for u in _friends(platform, 2)]},
        headers=AUTH,
    )
    read = api.get(f"/dev/line/v2/bot/audienceGroup/{group_id}", headers=AUTH)

    assert created.status_code == 200 and created.json["type"] == "UPLOAD"
    assert created.json["createRoute"] == "MESSAGING_API" and created.json["isIfaAudience"] is False
    assert added.status_code == 202
    assert read.json["audienceGroup"]["audienceCount"] == 5
    assert read.json["audienceGroup"]["status"] == "READY"
    assert read.json["audienceGroup"]["description"] == "週年慶 A"


def test_an_upload_is_refused_as_line_refuses_it(api, platform):
    user = _friends(platform, 1)[0]

    no_description = _upload(api, [user], description="")
    bad_id = _upload(api, [user, "not-a-user-id"])
    too_many = _upload(api, [user] * 10_001)
    ifa = api.post(
        "/dev/line/v2/bot/audienceGroup/upload",
        json={"description": "x", "isIfaAudience": True, "audiences": [{"id": user}]},
        headers=AUTH,
    )
    with_key = api.post(
        "/dev/line/v2/bot/audienceGroup/upload",
        json={"description": "x", "audiences": [{"id": user}]},
        headers={**AUTH, "X-Line-Retry-Key": str(uuid.uuid4())},
    )
    unknown = api.get("/dev/line/v2/bot/audienceGroup/12345", headers=AUTH)

    assert [r.status_code for r in (no_description, bad_id, too_many, ifa, with_key)] == [400] * 5
    assert bad_id.json["details"][0]["property"] == "audiences[1].id"
    assert unknown.status_code == 404
    assert platform.audience_groups == {}


def test_a_narrowcast_to_an_audience_reaches_each_friend_in_it_once_and_no_one_else(api, platform):
    audience = _friends(platform, 60)
    outsider = _friends(platform, 1)[0]
    blocked = platform.create_user("封鎖者", friend=True)
    platform.users[blocked].friendship = "blocked"
    group_id = _upload(api, [*audience, *audience[:10], blocked]).json["audienceGroupId"]

    answer = _narrowcast(api, group_id, str(uuid.uuid4()))
    progress = _progress(api, answer.headers["X-Line-Request-Id"])

    assert answer.status_code == 202 and answer.json == {}
    assert all(platform.bot_messages(user) == HELLO for user in audience)
    assert platform.bot_messages(outsider) == [] and platform.bot_messages(blocked) == []
    assert progress["phase"] == "succeeded"
    assert (progress["successCount"], progress["failureCount"], progress["targetCount"]) == (60, 0, 60)


def test_the_same_retry_key_twice_is_answered_409_with_the_first_request_id_and_sends_nothing_more(api, platform):
    audience = _friends(platform, 50)
    group_id = _upload(api, audience).json["audienceGroupId"]
    key = str(uuid.uuid4())

    first = _narrowcast(api, group_id, key)
    again = _narrowcast(api, group_id, key)

    assert (first.status_code, again.status_code) == (202, 409)
    assert again.headers["X-Line-Accepted-Request-Id"] == first.headers["X-Line-Request-Id"]
    assert all(platform.bot_messages(user) == HELLO for user in audience)


def test_an_audience_of_fewer_than_50_is_accepted_then_fails_with_error_code_4_and_reaches_no_one(api, platform):
    audience = _friends(platform, 49)
    group_id = _upload(api, [*audience, "U" + "1" * 32]).json["audienceGroupId"]  # the 50th ID is no user
    key = str(uuid.uuid4())

    answer = _narrowcast(api, group_id, key)
    progress = _progress(api, answer.headers["X-Line-Request-Id"])
    again = _narrowcast(api, group_id, key)

    assert answer.status_code == 202
    assert progress["phase"] == "failed" and progress["errorCode"] == 4
    assert (progress["successCount"], progress["targetCount"]) == (0, 0) and progress["failedDescription"]
    assert all(platform.bot_messages(user) == [] for user in audience)
    assert platform.total_usage == 0
    assert again.status_code == 409


def test_a_narrowcast_to_an_unknown_audience_is_refused(api, platform):
    answer = _narrowcast(api, 999, str(uuid.uuid4()))

    assert answer.status_code == 400
