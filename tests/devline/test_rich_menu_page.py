"""The chat page shows the rich menu LINE would show the user, and its tabs switch as LINE's do."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.devline.test_chat_page import wait_for
from tests.devline.test_rich_menus import AUTH, deployed, menu


def alias(api: Any, alias_id: str, menu_id: str) -> None:
    body = {"richMenuAliasId": alias_id, "richMenuId": menu_id}
    assert api.post("/dev/line/v2/bot/richmenu/alias", json=body, headers=AUTH).status_code == 200


def shown(api: Any, user: str) -> Any:
    return api.get(f"/dev/line/api/state?user={user}").json["richMenu"]


def test_the_page_shows_the_users_own_menu_else_the_default_else_none(api, platform, image):
    fan = platform.create_user("阿明", friend=True)
    assert shown(api, fan) is None

    default, vip = deployed(api, image), deployed(api, image, areas=2)
    api.post(f"/dev/line/v2/bot/user/all/richmenu/{default}", headers=AUTH)
    assert (shown(api, fan)["richMenuId"], shown(api, fan)["source"]) == (default, "default")

    api.post(f"/dev/line/v2/bot/user/{fan}/richmenu/{vip}", headers=AUTH)
    view = shown(api, fan)
    assert (view["richMenuId"], view["source"]) == (vip, "user")
    assert view["areas"] == menu(areas=2)["areas"] and view["size"] == {"width": 2500, "height": 843}

    api.delete(f"/dev/line/v2/bot/user/{fan}/richmenu", headers=AUTH)
    api.delete("/dev/line/v2/bot/user/all/richmenu", headers=AUTH)
    assert shown(api, fan) is None


def test_a_tab_switches_the_shown_menu_and_posts_lines_postback(api, platform, image, webhook):
    platform.webhook_url = webhook.url
    tab_a, tab_b = deployed(api, image), deployed(api, image, areas=2)
    alias(api, "tab-a", tab_a)
    alias(api, "tab-b", tab_b)
    api.post(f"/dev/line/v2/bot/user/all/richmenu/{tab_a}", headers=AUTH)
    fan = platform.create_user("阿明", friend=True)
    assert shown(api, fan)["aliases"] == ["tab-a"]

    answer = api.post(f"/dev/line/api/users/{fan}/richmenu-switch", json={"richMenuAliasId": "tab-b", "data": "tab=b"})

    assert answer.status_code == 200
    view = shown(api, fan)
    assert (view["richMenuId"], view["source"], view["aliases"]) == (tab_b, "switched", ["tab-b"])
    wait_for(lambda: webhook.received)
    event = json.loads(webhook.received[0][0])["events"][0]
    assert event["type"] == "postback" and "replyToken" in event
    assert event["postback"] == {"data": "tab=b", "params": {"newRichMenuAliasId": "tab-b", "status": "SUCCESS"}}
    assert platform.chat(fan) == []  # a tab switch writes nothing in the chat
    other = platform.create_user("小美", friend=True)
    assert shown(api, other)["richMenuId"] == tab_a  # the switch is this user's phone only


def test_a_tab_naming_an_unknown_alias_keeps_the_menu_and_says_so(api, platform, image):
    menu_id = deployed(api, image)
    api.post(f"/dev/line/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH)
    fan = platform.create_user("阿明", friend=True)

    delivery = platform.switch_rich_menu(fan, "gone", "tab=gone")

    assert delivery.event["postback"] == {
        "data": "tab=gone",
        "params": {"newRichMenuAliasId": "gone", "status": "RICHMENU_ALIAS_ID_NOTFOUND"},
    }
    assert platform.displayed_rich_menu(fan) == menu_id


def test_linking_a_menu_to_the_user_replaces_the_tab_they_switched_to(api, platform, image):
    tab_a, tab_b, vip = deployed(api, image), deployed(api, image, areas=2), deployed(api, image, areas=1)
    alias(api, "tab-b", tab_b)
    api.post(f"/dev/line/v2/bot/user/all/richmenu/{tab_a}", headers=AUTH)
    fan = platform.create_user("阿明", friend=True)
    platform.switch_rich_menu(fan, "tab-b", "tab=b")
    assert platform.displayed_rich_menu(fan) == tab_b

    api.post(f"/dev/line/v2/bot/user/{fan}/richmenu/{vip}", headers=AUTH)

    assert shown(api, fan)["richMenuId"] == vip


def test_the_switch_route_needs_an_alias_and_data_and_a_known_user(api, platform):
    fan = platform.create_user("阿明", friend=True)

    assert api.post(f"/dev/line/api/users/{fan}/richmenu-switch", json={"data": "x"}).status_code == 400
    assert api.post(f"/dev/line/api/users/{fan}/richmenu-switch", json={"richMenuAliasId": "a"}).status_code == 400
    unknown = api.post("/dev/line/api/users/Unope/richmenu-switch", json={"richMenuAliasId": "a", "data": "x"})
    assert unknown.status_code == 404


def test_the_menu_image_route_serves_only_uploaded_images(api, image):
    menu_id = api.post("/dev/line/v2/bot/richmenu", json=menu(), headers=AUTH).json["richMenuId"]

    assert api.get(f"/dev/line/api/richmenu/{menu_id}/image").status_code == 404
    assert api.get("/dev/line/api/richmenu/richmenu-nope/image").status_code == 404


def test_the_page_has_no_built_in_menu_grid(api):
    page = api.get("/dev/line").get_data(as_text=True)
    script = api.get("/dev/line/static/chat.js").get_data(as_text=True)

    assert re.search(r'<section id="richmenu"[^>]* hidden>', page)  # until a menu applies
    assert "DEFAULT_MENU" not in script and "richmenu-grid" not in script
