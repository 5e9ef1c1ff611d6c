"""Members see the member menu, guests the default one; applying twice calls LINE once."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from bot.db import transaction
from bot.delivery import apply_rich_menu
from bot.services.membership.menu_state import users_needing_menu_change
from models import LineUser, RichMenuDeployment
from rich_menus.definitions import member_menu
from tests.factories import make_member


def _deploy_member_menu(runtime) -> str:
    menu = member_menu("main", "OMO")
    menu_id = runtime.line.api.create_rich_menu(menu.request()).rich_menu_id
    image = io.BytesIO()
    Image.new("RGB", menu.size, "#06C755").save(image, "PNG")
    runtime.line.blob.set_rich_menu_image(menu_id, image.getvalue(), _headers={"Content-Type": "image/png"})
    with transaction(runtime.sessions) as session:
        session.add(RichMenuDeployment(state="member", line_rich_menu_id=menu_id))
    return menu_id


def test_binding_links_the_member_menu_and_unbinding_takes_it_away(platform, runtime, session):
    menu_id = _deploy_member_menu(runtime)
    user = platform.create_user("林怡君")
    platform.follow(user)
    make_member(runtime.sessions, bound_to=user)

    platform.send_text(user, "會員資料")  # any event of the user's applies the menu
    assert platform.rich_menu_for(user) == menu_id

    platform.postback(user, "action=unbind&confirm=yes")
    assert platform.user_rich_menus.get(user) is None
    assert session.scalars(select(LineUser.applied_rich_menu_id)).one() is None


def test_applying_the_same_menu_again_does_not_call_line(platform, runtime):
    _deploy_member_menu(runtime)
    user = platform.create_user("林怡君")
    platform.follow(user)
    make_member(runtime.sessions, bound_to=user)

    calls = [apply_rich_menu(runtime.sessions, runtime.line, user) for _ in range(2)]

    assert calls == [True, False]
    links = [r for r in platform.requests if r["path"].startswith(f"/v2/bot/user/{user}/richmenu/")]
    assert len(links) == 1


def test_the_sweeper_finds_members_bound_outside_the_chat(platform, runtime, session):
    _deploy_member_menu(runtime)
    user = platform.create_user("林怡君")
    platform.follow(user)

    make_member(runtime.sessions, bound_to=user)  # as a web page or the POS API would

    assert users_needing_menu_change(session) == [user]
