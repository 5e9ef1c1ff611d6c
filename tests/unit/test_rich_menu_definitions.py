"""The rich menus obey LINE's rules and only use actions the bot routes."""

from __future__ import annotations

import pytest

from handlers.routing import ACTIONS
from rich_menus.definitions import HEIGHT, MENUS, WIDTH, rich_menu_request


@pytest.mark.parametrize("state", sorted(MENUS))
def test_menu_areas_tile_the_image_without_overlap(state):
    areas = rich_menu_request(state).areas
    covered = sum(a.bounds.width * a.bounds.height for a in areas)
    assert covered == WIDTH * HEIGHT
    for area in areas:
        assert area.bounds.x + area.bounds.width <= WIDTH
        assert area.bounds.y + area.bounds.height <= HEIGHT


@pytest.mark.parametrize("state", sorted(MENUS))
def test_menus_follow_line_limits_and_route_to_known_actions(state):
    menu = rich_menu_request(state)
    assert len(menu.chat_bar_text) <= 14 and len(menu.name) <= 300 and len(menu.areas) <= 20
    assert WIDTH / HEIGHT >= 1.45
    for area in menu.areas:
        assert area.action.data.removeprefix("action=") in ACTIONS
