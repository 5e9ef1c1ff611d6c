"""The rich menus obey LINE's rules, only use actions the bot routes, and their images are what LINE accepts."""

from __future__ import annotations

import io
import re
from itertools import combinations

import pytest
from PIL import Image

from bot.settings import Settings
from handlers.routing import ACTIONS
from rich_menus.definitions import MEMBER_MAIN_ALIAS, MEMBER_MORE_ALIAS, TAB_ACTION, menus
from rich_menus.render import MAX_IMAGE_BYTES, render

ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
NOT_BUILT = {"tasks"}
MENUS = {menu.state: menu for menu in menus(Settings())}


@pytest.mark.parametrize("state", sorted(MENUS))
def test_areas_lie_inside_the_image_and_never_overlap(state):
    menu = MENUS[state]
    width, height = menu.size
    assert (width, height) in ((2500, 1686), (2500, 843))
    assert 1 <= len(menu.areas) <= 20
    for area in menu.areas:
        box = area.bounds
        assert box.x >= 0 and box.y >= 0 and box.width > 0 and box.height > 0
        assert box.x + box.width <= width and box.y + box.height <= height
    for first, second in combinations(menu.areas, 2):
        assert not first.bounds.overlaps(second.bounds), (first.label, second.label)
    assert sum(a.bounds.width * a.bounds.height for a in menu.areas) == width * height


@pytest.mark.parametrize("state", sorted(MENUS))
def test_menus_follow_line_limits_and_route_to_known_actions(state):
    menu = MENUS[state]
    request = menu.request()  # line-bot-sdk's model accepts it
    assert len(request.chat_bar_text) <= 14 and len(request.name) <= 300
    for area in menu.request_body()["areas"]:
        action = area["action"]
        assert len(action["label"]) <= 20
        if action["type"] == "richmenuswitch":
            assert ALIAS_ID.match(action["richMenuAliasId"]) and action["data"]
    for name in menu.postback_actions:
        assert name in ACTIONS and name not in NOT_BUILT


def test_member_tabs_switch_between_each_other_by_alias():
    main, more = MENUS["member"], MENUS["member-more"]
    assert (main.alias_id, more.alias_id) == (MEMBER_MAIN_ALIAS, MEMBER_MORE_ALIAS)
    for menu, current in ((main, MEMBER_MAIN_ALIAS), (more, MEMBER_MORE_ALIAS)):
        tabs = [area for area in menu.areas if area.switch_to_alias]
        assert [tab.switch_to_alias for tab in tabs] == [MEMBER_MAIN_ALIAS, MEMBER_MORE_ALIAS]
        assert [tab.current for tab in tabs] == [alias == current for alias in (MEMBER_MAIN_ALIAS, MEMBER_MORE_ALIAS)]
        assert all(tab.bounds.y == 0 for tab in tabs)
    assert [a.action for a in main.areas if a.action] == ["barcode", "points", "stamps", "coupons"]
    assert [a.action for a in more.areas if a.action] == ["checkin", "draw", "profile", "news", "stores", "help"]
    assert [a.action for a in MENUS["guest"].areas] == ["bind", "news", "stores", "help"]
    assert TAB_ACTION in ACTIONS
    for alias in (MEMBER_MAIN_ALIAS, MEMBER_MORE_ALIAS):
        assert ALIAS_ID.match(alias)


@pytest.mark.parametrize("state", sorted(MENUS))
def test_images_are_the_menus_size_and_under_one_megabyte(state):
    menu = MENUS[state]
    data = render(menu, "#06C755")
    assert len(data) <= MAX_IMAGE_BYTES
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.size == menu.size
    assert render(menu, "#06C755") == data  # same menu, same bytes: deploy's hash depends on it


def test_brand_colour_and_name_come_from_the_settings():
    settings = Settings(brand_name="小麥麵包", brand_color="#AA3300")
    guest = next(menu for menu in menus(settings) if menu.state == "guest")
    assert guest.brand_name == "小麥麵包"
    with Image.open(io.BytesIO(render(guest, settings.brand_color))) as image:
        assert image.convert("RGB").getpixel((10, 10)) == (0xAA, 0x33, 0x00)
