"""The local LINE platform page shows the rich menu LINE would show, and its areas act as LINE's do."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 2500, 843
TAB_HEIGHT = 200


def menu_image(active_tab: int, labels: list[str]) -> bytes:
    """A 2500x843 PNG: two tabs on top (the active one green), then one tile per bottom area."""
    picture = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(picture)
    for tab in range(2):
        fill = (6, 199, 85) if tab == active_tab else (220, 224, 230)
        draw.rectangle((tab * WIDTH // 2, 0, (tab + 1) * WIDTH // 2 - 1, TAB_HEIGHT - 1), fill=fill)
        draw.text((tab * WIDTH // 2 + 60, 50), "AB"[tab], fill="black", font_size=100)
    step = WIDTH // len(labels)
    for n, label in enumerate(labels):
        draw.rectangle((n * step + 8, TAB_HEIGHT + 8, (n + 1) * step - 8, HEIGHT - 8), outline=(6, 199, 85), width=8)
        draw.text((n * step + 60, TAB_HEIGHT + 250), label, fill="black", font_size=110)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def definition(name: str, bottom: list[dict[str, Any]]) -> dict[str, Any]:
    tabs = [
        {"type": "richmenuswitch", "richMenuAliasId": f"tab-{tab}", "data": f"action=menu_tab&tab={tab}"}
        for tab in ("a", "b")
    ]
    step = WIDTH // len(bottom)
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": name,
        "chatBarText": name,
        "areas": [
            {"bounds": {"x": n * WIDTH // 2, "y": 0, "width": WIDTH // 2, "height": TAB_HEIGHT}, "action": action}
            for n, action in enumerate(tabs)
        ]
        + [
            {"bounds": {"x": n * step, "y": TAB_HEIGHT, "width": step, "height": HEIGHT - TAB_HEIGHT}, "action": action}
            for n, action in enumerate(bottom)
        ],
    }


def deploy(app: Any, token: str, menu: dict[str, Any], png: bytes) -> str:
    """Create the menu, upload its image and return its id, through the platform's Messaging API."""
    auth = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    created = client.post("/dev/line/v2/bot/richmenu", json=menu, headers=auth)
    assert created.status_code == 200, created.json
    menu_id = str(created.json["richMenuId"])
    uploaded = client.post(
        f"/dev/line/v2/bot/richmenu/{menu_id}/content", data=png, headers={**auth, "Content-Type": "image/png"}
    )
    assert uploaded.status_code == 200, uploaded.json
    return menu_id


def test_the_rich_menu_shows_switches_tabs_and_its_postback_reaches_the_bot(phone_page, base_url, app, settings):
    page, token = phone_page, settings.line_channel_access_token
    auth = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    member_tab = definition(
        "會員", [{"type": "uri", "label": "官網", "uri": "https://example.com/"}, {"type": "message", "text": "選單"}]
    )
    help_tab = definition("說明", [{"type": "postback", "data": "action=help", "displayText": "說明"}])
    tab_a = deploy(app, token, member_tab, menu_image(0, ["WEB", "MENU"]))
    tab_b = deploy(app, token, help_tab, menu_image(1, ["HELP"]))
    for alias_id, menu_id in (("tab-a", tab_a), ("tab-b", tab_b)):
        body = {"richMenuAliasId": alias_id, "richMenuId": menu_id}
        assert client.post("/dev/line/v2/bot/richmenu/alias", json=body, headers=auth).status_code == 200
    assert client.post(f"/dev/line/v2/bot/user/all/richmenu/{tab_a}", headers=auth).status_code == 200

    page.goto(f"{base_url}/dev/line")
    page.fill("#new-user-name", "林小姐")
    page.click("#create-user")
    page.click("#add-friend")
    page.locator(".bubble.bot", has_text="歡迎加入").first.wait_for()

    richmenu = page.get_by_test_id("richmenu")
    expect(richmenu).to_be_visible()
    expect(richmenu).to_have_attribute("data-rich-menu-id", tab_a)
    expect(page.locator("#richmenu-label")).to_have_text("會員")
    image = page.get_by_test_id("richmenu-image")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("src", re.compile(rf"/dev/line/api/richmenu/{tab_a}/image$"))
    expect(image).to_have_js_property("naturalWidth", WIDTH)  # loaded: its box is the drawn size, not a placeholder
    image_box = image.bounding_box()
    assert image_box is not None and image_box["width"] > 300
    assert abs(image_box["height"] - image_box["width"] * HEIGHT / WIDTH) < 2  # scaled to the width
    areas = page.locator(".richmenu-area")
    expect(areas).to_have_count(4)
    tab_b_box = page.get_by_test_id("richmenu-area-1").bounding_box()
    assert tab_b_box is not None
    assert abs(tab_b_box["x"] - (image_box["x"] + image_box["width"] / 2)) < 2
    assert abs(tab_b_box["height"] - image_box["height"] * TAB_HEIGHT / HEIGHT) < 2
    expect(page.get_by_test_id("richmenu-info")).to_contain_text("預設選單")

    page.get_by_test_id("richmenu-area-1").click()  # the "B" tab: richmenuswitch to tab-b

    expect(richmenu).to_have_attribute("data-rich-menu-id", tab_b)
    expect(page.locator("#richmenu-label")).to_have_text("說明")
    expect(page.get_by_test_id("richmenu-image")).to_have_attribute("src", re.compile(tab_b))
    expect(page.get_by_test_id("richmenu-body")).to_be_visible()  # the menu stays open on the new tab
    expect(areas).to_have_count(3)
    expect(page.get_by_test_id("richmenu-info")).to_contain_text("tab-b")

    page.get_by_test_id("richmenu-area-2").click()  # postback action=help, displayText 說明

    page.locator(".bubble.user", has_text="說明").wait_for()
    page.locator(".bubble.bot", has_text="可以幫您做這些事").wait_for()
    page.get_by_test_id("richmenu-body").scroll_into_view_if_needed()
    save_screenshot(page, "devline-richmenu")

    page.get_by_test_id("richmenu-toggle").click()  # the chat bar folds the menu away and back
    expect(page.get_by_test_id("richmenu-body")).to_be_hidden()
    page.get_by_test_id("richmenu-toggle").click()
    expect(page.get_by_test_id("richmenu-body")).to_be_visible()


def test_a_message_area_sends_its_text_and_a_uri_area_opens_a_new_tab(page, base_url, app, settings):
    token = settings.line_channel_access_token
    auth = {"Authorization": f"Bearer {token}"}
    menu = definition(
        "會員", [{"type": "uri", "label": "官網", "uri": "https://example.com/"}, {"type": "message", "text": "選單"}]
    )
    menu_id = deploy(app, token, menu, menu_image(0, ["WEB", "MENU"]))
    assert app.test_client().post(f"/dev/line/v2/bot/user/all/richmenu/{menu_id}", headers=auth).status_code == 200
    page.context.route("https://example.com/**", lambda route: route.fulfill(body="example", content_type="text/plain"))

    page.goto(f"{base_url}/dev/line")
    page.fill("#new-user-name", "阿明")
    page.click("#create-user")
    page.click("#add-friend")
    page.locator(".bubble.bot", has_text="歡迎加入").first.wait_for()

    page.get_by_test_id("richmenu-area-3").click()  # message: 選單
    page.locator(".bubble.user", has_text="選單").wait_for()
    page.locator(".bubble.bot", has_text="可以幫您做這些事").wait_for()

    with page.context.expect_page() as opened:
        page.get_by_test_id("richmenu-area-2").click()  # uri: https://example.com/
    assert opened.value.url == "https://example.com/"


def test_without_any_rich_menu_the_page_shows_none(page, base_url, app):
    page.goto(f"{base_url}/dev/line")
    page.fill("#new-user-name", "阿明")
    page.click("#create-user")

    expect(page.get_by_test_id("richmenu-info")).to_contain_text("沒有圖文選單")
    expect(page.get_by_test_id("richmenu")).to_be_hidden()
    expect(page.locator(".richmenu-area")).to_have_count(0)
