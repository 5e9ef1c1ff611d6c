"""Rich menus on the local LINE platform follow LINE's rules for size, areas, images, links and aliases."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

AUTH = {"Authorization": "Bearer t"}


def menu(width: int = 2500, height: int = 843, areas: int = 3, **overrides: Any) -> dict[str, Any]:
    step = width // max(areas, 1)
    definition = {
        "size": {"width": width, "height": height},
        "selected": True,
        "name": "會員選單",
        "chatBarText": "會員選單",
        "areas": [
            {
                "bounds": {"x": n * step, "y": 0, "width": step, "height": height},
                "action": {"type": "postback", "data": f"action=area{n}"},
            }
            for n in range(areas)
        ],
    }
    definition.update(overrides)
    return definition


def create(api: FlaskClient, definition: dict[str, Any]) -> Any:
    return api.post("/dev/line/v2/bot/richmenu", json=definition, headers=AUTH)


def upload(api: FlaskClient, menu_id: str, data: bytes, content_type: str = "image/png") -> Any:
    return api.post(
        f"/dev/line/v2/bot/richmenu/{menu_id}/content",
        data=data,
        headers={**AUTH, "Content-Type": content_type},
    )


def deployed(api: FlaskClient, image: Any, **kwargs: Any) -> str:
    menu_id = create(api, menu(**kwargs)).json["richMenuId"]
    size = menu(**kwargs)["size"]
    assert upload(api, menu_id, image(size["width"], size["height"])).status_code == 200
    return str(menu_id)


def test_a_valid_rich_menu_is_created_and_listed(api, platform):
    created = create(api, menu())

    menu_id = created.json["richMenuId"]
    listed = api.get("/dev/line/v2/bot/richmenu/list", headers=AUTH).json["richmenus"]
    assert created.status_code == 200
    assert menu_id.startswith("richmenu-") and len(menu_id) == len("richmenu-") + 32
    assert listed == [{"richMenuId": menu_id, **menu()}]
    assert platform.rich_menus[menu_id]["image"] is None


@pytest.mark.parametrize(
    ("definition", "prop"),
    [
        (menu(width=799, height=540), "size.width"),
        (menu(width=2501, height=1686), "size.width"),
        (menu(width=800, height=249), "size.height"),
        (menu(width=1200, height=830), "size"),
        (menu(areas=21), "areas"),
        (menu(chatBarText="這是一段超過十四個字的聊天列文字喔"), "chatBarText"),
        (menu(name="x" * 301), "name"),
    ],
    ids=["too-narrow", "too-wide", "too-low", "ratio-below-1.45", "21-areas", "long-chat-bar", "long-name"],
)
def test_a_rich_menu_breaking_the_rules_is_refused(api, platform, definition, prop):
    for path in ("/dev/line/v2/bot/richmenu", "/dev/line/v2/bot/richmenu/validate"):
        answer = api.post(path, json=definition, headers=AUTH)

        assert answer.status_code == 400
        assert answer.json["message"] == "The request body has 1 error(s)"
        assert answer.json["details"][0]["property"] == prop
    assert platform.rich_menus == {}


def test_a_rich_menu_without_a_name_is_refused(api):
    definition = menu()
    del definition["name"]

    answer = create(api, definition)

    assert answer.json["details"] == [{"message": "must be specified", "property": "name"}]


def test_a_uri_action_with_a_scheme_line_does_not_open_is_refused(api):
    definition = menu(areas=1)
    definition["areas"][0]["action"] = {"type": "uri", "uri": "ftp://example.com"}

    answer = create(api, definition)

    assert answer.json["details"] == [{"message": "invalid uri", "property": "areas[0].action.uri"}]


def test_the_smallest_allowed_rich_menu_validates(api):
    assert api.post("/dev/line/v2/bot/richmenu/validate", json=menu(800, 250), headers=AUTH).status_code == 200


def test_an_image_of_the_menus_size_is_stored(api, platform, image):
    menu_id = create(api, menu()).json["richMenuId"]
    png = image(2500, 843)

    assert upload(api, menu_id, png).status_code == 200

    downloaded = api.get(f"/dev/line/v2/bot/richmenu/{menu_id}/content", headers=AUTH)
    assert (downloaded.data, downloaded.mimetype) == (png, "image/png")
    assert platform.rich_menus[menu_id]["content_type"] == "image/png"


def test_an_image_of_another_size_than_the_menu_is_refused(api, platform, image):
    menu_id = create(api, menu()).json["richMenuId"]

    answer = upload(api, menu_id, image(2500, 1686))

    assert (answer.status_code, answer.json["message"]) == (400, "The image size is not allowed for richmenu")
    assert platform.rich_menus[menu_id]["image"] is None


def test_a_second_image_for_the_same_menu_is_refused(api, image):
    menu_id = deployed(api, image)

    again = upload(api, menu_id, image(2500, 843, "JPEG"), "image/jpeg")

    assert (again.status_code, again.json["message"]) == (400, "An image has already been uploaded to the richmenu")


def test_an_image_over_1_mb_is_refused(api, image):
    menu_id = create(api, menu()).json["richMenuId"]
    big = image(2500, 843, noise=True)
    assert len(big) > 1024 * 1024

    assert upload(api, menu_id, big).status_code == 400


def test_an_image_that_is_not_png_or_jpeg_is_refused(api, image):
    menu_id = create(api, menu()).json["richMenuId"]

    gif = upload(api, menu_id, image(2500, 843, "GIF"), "image/gif")
    mislabelled = upload(api, menu_id, image(2500, 843, "JPEG"), "image/png")

    assert (gif.status_code, gif.json) == (415, {"message": "Unsupported media type"})
    assert mislabelled.status_code == 400


def test_a_menu_without_an_image_cannot_be_made_the_default(api, platform):
    menu_id = create(api, menu()).json["richMenuId"]

    answer = api.post(f"/dev/line/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH)

    assert (answer.status_code, answer.json["message"]) == (
        400,
        "must upload richmenu image before applying it to user",
    )
    assert platform.default_rich_menu_id is None


def test_an_unknown_menu_is_not_found(api):
    assert api.get("/dev/line/v2/bot/richmenu/richmenu-" + "0" * 32, headers=AUTH).status_code == 404
    assert api.post("/dev/line/v2/bot/user/all/richmenu/richmenu-nope", headers=AUTH).status_code == 404


def test_a_per_user_rich_menu_wins_over_the_default(api, platform, image):
    default, vip = deployed(api, image), deployed(api, image, areas=2)
    member, other = (platform.create_user(name, friend=True) for name in ("阿明", "小美"))

    api.post(f"/dev/line/v2/bot/user/all/richmenu/{default}", headers=AUTH)
    api.post(f"/dev/line/v2/bot/user/{member}/richmenu/{vip}", headers=AUTH)

    assert (platform.rich_menu_for(member), platform.rich_menu_for(other)) == (vip, default)
    assert api.get(f"/dev/line/v2/bot/user/{member}/richmenu", headers=AUTH).json == {"richMenuId": vip}
    assert api.get("/dev/line/v2/bot/user/all/richmenu", headers=AUTH).json == {"richMenuId": default}

    api.delete(f"/dev/line/v2/bot/user/{member}/richmenu", headers=AUTH)

    assert platform.rich_menu_for(member) == default
    assert api.get(f"/dev/line/v2/bot/user/{member}/richmenu", headers=AUTH).json == {
        "message": "the user has no richmenu"
    }


def test_linking_a_menu_to_a_user_who_is_not_a_friend_links_nothing(api, platform, image):
    menu_id = deployed(api, image)
    stranger = platform.create_user("路人")

    answer = api.post(f"/dev/line/v2/bot/user/{stranger}/richmenu/{menu_id}", headers=AUTH)

    assert answer.status_code == 200
    assert platform.rich_menu_for(stranger) is None


def test_bulk_link_takes_1_to_500_users_and_answers_202(api, platform, image):
    menu_id = deployed(api, image)
    fans = [platform.create_user(f"會員{n}", friend=True) for n in range(2)]

    linked = api.post(
        "/dev/line/v2/bot/richmenu/bulk/link", json={"richMenuId": menu_id, "userIds": fans}, headers=AUTH
    )
    too_many = api.post(
        "/dev/line/v2/bot/richmenu/bulk/link", json={"richMenuId": menu_id, "userIds": fans * 251}, headers=AUTH
    )
    none = api.post("/dev/line/v2/bot/richmenu/bulk/link", json={"richMenuId": menu_id, "userIds": []}, headers=AUTH)

    assert (linked.status_code, too_many.status_code, none.status_code) == (202, 400, 400)
    assert all(platform.user_rich_menus[fan] == menu_id for fan in fans)


def test_deleting_a_menu_removes_its_links(api, platform, image):
    menu_id = deployed(api, image)
    fan = platform.create_user("阿明", friend=True)
    api.post(f"/dev/line/v2/bot/user/all/richmenu/{menu_id}", headers=AUTH)
    api.post(f"/dev/line/v2/bot/user/{fan}/richmenu/{menu_id}", headers=AUTH)

    assert api.delete(f"/dev/line/v2/bot/richmenu/{menu_id}", headers=AUTH).status_code == 200

    assert platform.rich_menus == {} and platform.rich_menu_for(fan) is None


def test_an_alias_needs_a_valid_id_a_menu_with_an_image_and_a_free_name(api, platform, image):
    with_image = deployed(api, image)
    without_image = create(api, menu()).json["richMenuId"]

    def alias(alias_id: str, menu_id: str) -> Any:
        body = {"richMenuAliasId": alias_id, "richMenuId": menu_id}
        return api.post("/dev/line/v2/bot/richmenu/alias", json=body, headers=AUTH)

    assert alias("tab-a", with_image).status_code == 200
    assert alias("Tab A!", with_image).status_code == 400
    assert alias("x" * 33, with_image).status_code == 400
    assert alias("tab-b", without_image).json["message"] == "richmenu not found"
    assert alias("tab-a", with_image).json["message"] == "conflict richmenu alias id"
    assert platform.aliases == {"tab-a": with_image}
    assert api.get("/dev/line/v2/bot/richmenu/alias/tab-a", headers=AUTH).json == {
        "richMenuAliasId": "tab-a",
        "richMenuId": with_image,
    }
    assert api.delete("/dev/line/v2/bot/richmenu/alias/tab-a", headers=AUTH).status_code == 200
    assert platform.aliases == {}
