"""The LINE client retries what LINE asks it to retry, with the same retry key, and never sends twice."""

from __future__ import annotations

import uuid

import pytest

from bot.line_client import LineDeliveryError

HELLO = [{"type": "text", "text": "哈囉"}]


def _pushes(platform, key):
    return [r for r in platform.requests if r["path"].endswith("/v2/bot/message/push") and r["retry_key"] == key]


def test_a_500_is_retried_with_the_same_retry_key_and_delivered_once(runtime, platform):
    user = platform.create_user("阿明")
    platform.follow(user)
    before = len(platform.bot_messages(user))
    platform.fail_next("/v2/bot/message/push", 500)
    key = str(uuid.uuid4())

    runtime.line.push(user, HELLO, retry_key=key)

    assert [r["status"] for r in _pushes(platform, key)] == [500, 200]
    assert platform.bot_messages(user)[before:] == HELLO


def test_a_429_is_retried(runtime, platform):
    user = platform.create_user("阿明")
    platform.fail_next("/v2/bot/message/push", 429, times=2)
    key = str(uuid.uuid4())

    runtime.line.push(user, HELLO, retry_key=key)

    assert [r["status"] for r in _pushes(platform, key)] == [429, 429, 200]


def test_a_409_for_a_retry_key_already_accepted_counts_as_delivered(runtime, platform):
    user = platform.create_user("阿明")
    platform.follow(user)
    before = len(platform.bot_messages(user))
    key = str(uuid.uuid4())
    runtime.line.push(user, HELLO, retry_key=key)

    runtime.line.push(user, HELLO, retry_key=key)  # a retry after a lost answer: no error

    assert [r["status"] for r in _pushes(platform, key)] == [200, 409]
    assert platform.bot_messages(user)[before:] == HELLO


def test_a_refusal_is_not_retried(runtime, platform):
    user = platform.create_user("阿明")
    platform.follow(user)
    platform.fail_next("/v2/bot/message/push", 400)
    key = str(uuid.uuid4())

    with pytest.raises(LineDeliveryError) as refused:
        runtime.line.push(user, HELLO, retry_key=key)

    assert refused.value.status == 400
    assert len(_pushes(platform, key)) == 1


def test_multicast_carries_a_retry_key_and_reaches_everyone(runtime, platform):
    users = [platform.create_user(f"會員{n}") for n in range(3)]
    for user in users:
        platform.follow(user)
    key = str(uuid.uuid4())

    runtime.line.multicast(users, HELLO, retry_key=key)

    assert all(platform.bot_messages(user)[-1] == HELLO[0] for user in users)
    assert [r["retry_key"] for r in platform.requests if r["path"].endswith("/multicast")] == [key]


def test_the_profile_of_a_friend_comes_from_the_platform(runtime, platform):
    user = platform.create_user("小美", language="ja")
    platform.follow(user)

    profile = runtime.line.get_profile(user)

    assert (profile.user_id, profile.display_name, profile.language) == (user, "小美", "ja")
