"""The developer chat page and the JSON endpoints it uses to play LINE users."""

from __future__ import annotations

import time
from typing import Any

AUTH = {"Authorization": "Bearer t"}


def wait_for(check: Any, seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_the_page_has_the_controls_a_browser_test_drives(api):
    page = api.get("/dev/line").get_data(as_text=True)

    for control in ('id="new-user-name"', 'id="add-friend"', 'id="block"', 'id="message-input"', 'id="send"'):
        assert control in page
    assert "加入好友" in page and "封鎖" in page
    assert api.get("/dev/line/static/chat.js").status_code == 200


def test_a_developer_creates_a_user_and_writes_as_them(api, platform, webhook):
    platform.webhook_url = webhook.url
    created = api.post("/dev/line/api/users", json={"displayName": "阿明", "language": "en"})
    user = created.json["user"]["userId"]

    answer = api.post(f"/dev/line/api/users/{user}/text", json={"text": "哈囉 👋"})

    assert created.status_code == 201 and answer.status_code == 200
    state = api.get(f"/dev/line/api/state?user={user}").json
    assert state["user"]["displayName"] == "阿明"
    assert [entry["message"]["text"] for entry in state["chat"]] == ["哈囉 👋"]
    assert state["richMenu"] is None
    wait_for(lambda: webhook.received)
    assert "哈囉 👋".encode() in webhook.received[0][0]


def test_following_and_blocking_from_the_page_reach_the_webhook(api, platform, webhook):
    platform.webhook_url = webhook.url
    user = platform.create_user("阿明")

    api.post(f"/dev/line/api/users/{user}/follow")
    wait_for(lambda: len(webhook.received) == 1)
    api.post(f"/dev/line/api/users/{user}/unfollow")
    wait_for(lambda: len(webhook.received) == 2)
    api.post(f"/dev/line/api/users/{user}/follow")
    wait_for(lambda: len(platform.deliveries) == 3)

    assert platform.users[user].friendship == "friend"
    assert b'"isUnblocked": true' in webhook.received[2][0]


def test_a_bad_user_is_refused(api):
    assert api.post("/dev/line/api/users", json={"displayName": ""}).status_code == 400
    assert api.post("/dev/line/api/users/Unope/text", json={"text": "hi"}).status_code == 404


def test_the_state_shows_the_users_rich_menu_with_its_image(api, platform, image):
    definition = {
        "size": {"width": 2500, "height": 843},
        "selected": False,
        "name": "m",
        "chatBarText": "選單",
        "areas": [],
    }
    menu_id = api.post("/dev/line/v2/bot/richmenu", json=definition, headers=AUTH).json["richMenuId"]
    png = image(2500, 843)
    api.post(f"/dev/line/v2/bot/richmenu/{menu_id}/content", data=png, headers={**AUTH, "Content-Type": "image/png"})
    api.post(f"/dev/line/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH)
    user = platform.create_user("阿明")

    shown = api.get(f"/dev/line/api/state?user={user}").json["richMenu"]

    assert (shown["richMenuId"], shown["chatBarText"]) == (menu_id, "選單")
    assert api.get(shown["imageUrl"]).data == png


def test_the_account_link_dialog_uses_the_token_once_and_reports_to_the_bot(api, platform, webhook):
    platform.webhook_url = webhook.url
    user = platform.create_user("阿明", friend=True)
    token = api.post(f"/dev/line/v2/bot/user/{user}/linkToken", headers=AUTH).json["linkToken"]
    dialog = f"/dev/line/dialog/bot/accountLink?linkToken={token}&nonce=abcdefghijklmnop"

    first, second = api.get(dialog), api.get(dialog)

    assert (first.status_code, second.status_code) == (200, 400)
    wait_for(lambda: len(webhook.received) == 2)
    results = sorted(b'"result": "ok"' in body for body, _ in webhook.received)
    assert results == [False, True]
