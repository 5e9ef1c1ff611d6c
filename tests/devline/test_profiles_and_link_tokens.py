"""Profiles and account-link tokens on the local LINE platform, as LINE gives them."""

from __future__ import annotations

from typing import Any

AUTH = {"Authorization": "Bearer t"}


def link_token(api: Any, user: str) -> str:
    answer = api.post(f"/dev/line/v2/bot/user/{user}/linkToken", headers=AUTH)
    assert answer.status_code == 200
    return str(answer.json["linkToken"])


def test_a_profile_is_shown_for_friends_but_not_for_strangers_or_users_who_blocked(api, platform):
    fan = platform.create_user("小美", language="ja", picture_url="https://example.com/mei.png", friend=True)
    stranger, gone = platform.create_user("路人"), platform.create_user("阿明", friend=True)
    platform.unfollow(gone)

    def profile(user: str) -> Any:
        return api.get(f"/dev/line/v2/bot/profile/{user}", headers=AUTH)

    assert profile(fan).json == {
        "userId": fan,
        "displayName": "小美",
        "language": "ja",
        "pictureUrl": "https://example.com/mei.png",
    }
    assert [profile(user).status_code for user in (stranger, gone, "U" + "f" * 32)] == [404, 404, 404]
    assert profile(stranger).json == {"message": "Not found"}


def test_a_link_token_can_be_used_once(api, platform):
    user = platform.create_user("阿明", friend=True)

    token = link_token(api, user)

    assert platform.consume_link_token(token) == user
    assert platform.consume_link_token(token) is None


def test_a_link_token_expires_after_ten_minutes(api, platform, clock):
    user = platform.create_user("阿明", friend=True)
    token = link_token(api, user)
    clock.advance(minutes=10, seconds=1)

    assert platform.consume_link_token(token) is None


def test_each_link_token_is_new(api, platform):
    user = platform.create_user("阿明", friend=True)

    tokens = {link_token(api, user) for _ in range(3)}

    assert len(tokens) == 3
    assert all(platform.link_tokens[token]["user_id"] == user for token in tokens)
