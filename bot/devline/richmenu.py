"""Rich menu routes of the local LINE platform: menus, images, default and per-user links, aliases."""

from __future__ import annotations

import io
import secrets
from typing import Any

from flask import Blueprint, Response, jsonify, request
from linebot.v3.messaging import RichMenuBulkLinkRequest
from PIL import Image, UnidentifiedImageError

from bot.devline.errors import NOT_FOUND, LineApiError, body_errors
from bot.devline.platform import DevLinePlatform
from bot.devline.state import USER_ID_PATTERN
from bot.devline.validation import (
    MODEL_ERRORS,
    check_alias_id,
    check_rich_menu,
    model_details,
    parse_json,
    require_json_object,
)

MAX_MENUS = 1000
MAX_IMAGE_BYTES = 1024 * 1024
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}
NO_IMAGE = "must upload richmenu image before applying it to user"
BAD_IMAGE = "The image size is not allowed for richmenu"


def menu_response(menu_id: str, menu: dict[str, Any]) -> dict[str, Any]:
    """A rich menu as LINE returns it: its id and its definition."""
    return {"richMenuId": menu_id, **menu["definition"]}


def register_rich_menus(bp: Blueprint, platform: DevLinePlatform) -> None:
    """Add the rich menu routes; state lives on the platform (rich_menus, default, user links, aliases)."""

    def existing(menu_id: str) -> dict[str, Any]:
        menu = platform.rich_menus.get(menu_id)
        if menu is None:
            raise LineApiError(404, NOT_FOUND)
        return menu

    def with_image(menu_id: str) -> dict[str, Any]:
        menu = existing(menu_id)
        if menu["image"] is None:
            raise LineApiError(400, NO_IMAGE)
        return menu

    def valid_user(user_id: str) -> str:
        if not USER_ID_PATTERN.match(user_id):
            raise LineApiError(400, "The value for the 'userId' parameter is invalid")
        return user_id

    @bp.post("/v2/bot/richmenu")
    def create_rich_menu() -> Response:
        definition = check_rich_menu(parse_json(request.get_data()))
        menu_id = "richmenu-" + secrets.token_hex(16)
        with platform.lock:
            if len(platform.rich_menus) >= MAX_MENUS:
                raise LineApiError(400, "The maximum number of rich menus has been reached")
            platform.rich_menus[menu_id] = {"definition": definition, "image": None, "content_type": None}
            platform.touch()
        return jsonify({"richMenuId": menu_id})

    @bp.post("/v2/bot/richmenu/validate")
    def validate_rich_menu() -> Response:
        check_rich_menu(parse_json(request.get_data()))
        return jsonify({})

    @bp.get("/v2/bot/richmenu/list")
    def list_rich_menus() -> Response:
        with platform.lock:
            menus = [menu_response(menu_id, menu) for menu_id, menu in platform.rich_menus.items()]
        return jsonify({"richmenus": menus})

    @bp.get("/v2/bot/richmenu/<menu_id>")
    def get_rich_menu(menu_id: str) -> Response:
        return jsonify(menu_response(menu_id, existing(menu_id)))

    @bp.delete("/v2/bot/richmenu/<menu_id>")
    def delete_rich_menu(menu_id: str) -> Response:
        existing(menu_id)
        with platform.lock:
            platform.rich_menus.pop(menu_id, None)
            for links in (platform.user_rich_menus, platform.aliases, platform.switched_menus):
                for key in [key for key, linked in links.items() if linked == menu_id]:
                    del links[key]
            if platform.default_rich_menu_id == menu_id:
                platform.default_rich_menu_id = None
            platform.touch()
        return jsonify({})

    @bp.post("/v2/bot/richmenu/<menu_id>/content")
    def upload_image(menu_id: str) -> Response:
        menu = existing(menu_id)
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        if content_type not in IMAGE_TYPES:
            raise LineApiError(415, "Unsupported media type")
        data = request.get_data()
        if menu["image"] is not None:
            raise LineApiError(400, "An image has already been uploaded to the richmenu")
        if len(data) > MAX_IMAGE_BYTES:
            raise LineApiError(400, BAD_IMAGE, [{"message": "max file size is 1 MB", "property": "content"}])
        size = menu["definition"]["size"]
        if _pixel_size(data, IMAGE_TYPES[content_type]) != (size["width"], size["height"]):
            raise LineApiError(400, BAD_IMAGE)
        with platform.lock:
            if menu["image"] is not None:
                raise LineApiError(400, "An image has already been uploaded to the richmenu")
            menu.update(image=data, content_type=content_type)
            platform.touch()
        return jsonify({})

    @bp.get("/v2/bot/richmenu/<menu_id>/content")
    def download_image(menu_id: str) -> Response:
        menu = existing(menu_id)
        if menu["image"] is None:
            raise LineApiError(404, NOT_FOUND)
        return Response(menu["image"], mimetype=menu["content_type"])

    @bp.post("/v2/bot/user/all/richmenu/<menu_id>")
    def set_default(menu_id: str) -> Response:
        with_image(menu_id)
        with platform.lock:
            platform.default_rich_menu_id = menu_id
            platform.switched_menus.clear()
            platform.touch()
        return jsonify({})

    @bp.get("/v2/bot/user/all/richmenu")
    def get_default() -> Response:
        if platform.default_rich_menu_id is None:
            raise LineApiError(404, "no default richmenu")
        return jsonify({"richMenuId": platform.default_rich_menu_id})

    @bp.delete("/v2/bot/user/all/richmenu")
    def cancel_default() -> Response:
        with platform.lock:
            platform.default_rich_menu_id = None
            platform.switched_menus.clear()
            platform.touch()
        return jsonify({})

    def link(user_ids: list[str], menu_id: str) -> None:
        # LINE answers 200 but links nothing for users who are not friends (blocked, unknown, never added).
        with platform.lock:
            for user_id in user_ids:
                user = platform.users.get(user_id)
                if user is not None and user.friendship == "friend":
                    platform.user_rich_menus[user_id] = menu_id
                    platform.switched_menus.pop(user_id, None)
            platform.touch()

    def unlink(user_ids: list[str]) -> None:
        with platform.lock:
            for user_id in user_ids:
                platform.user_rich_menus.pop(user_id, None)
                platform.switched_menus.pop(user_id, None)
            platform.touch()

    @bp.post("/v2/bot/user/<user_id>/richmenu/<menu_id>")
    def link_to_user(user_id: str, menu_id: str) -> Response:
        valid_user(user_id)
        with_image(menu_id)
        link([user_id], menu_id)
        return jsonify({})

    @bp.get("/v2/bot/user/<user_id>/richmenu")
    def linked_to_user(user_id: str) -> Response:
        menu_id = platform.user_rich_menus.get(valid_user(user_id))
        if menu_id is None:
            raise LineApiError(404, "the user has no richmenu")
        return jsonify({"richMenuId": menu_id})

    @bp.delete("/v2/bot/user/<user_id>/richmenu")
    def unlink_from_user(user_id: str) -> Response:
        unlink([valid_user(user_id)])
        return jsonify({})

    @bp.post("/v2/bot/richmenu/bulk/link")
    def bulk_link() -> tuple[Response, int]:
        payload = parse_json(request.get_data())
        try:
            RichMenuBulkLinkRequest.from_dict(payload)
        except MODEL_ERRORS as exc:
            raise body_errors(model_details(exc)) from exc
        if payload["richMenuId"] not in platform.rich_menus:
            raise LineApiError(400, "richmenu not found")
        with_image(payload["richMenuId"])
        link(payload["userIds"], payload["richMenuId"])
        return jsonify({}), 202

    @bp.post("/v2/bot/richmenu/bulk/unlink")
    def bulk_unlink() -> tuple[Response, int]:
        payload = require_json_object(parse_json(request.get_data()), "userIds")
        if not isinstance(payload["userIds"], list) or not 1 <= len(payload["userIds"]) <= 500:
            raise body_errors([{"message": "Size must be between 1 and 500", "property": "userIds"}])
        unlink(payload["userIds"])
        return jsonify({}), 202

    @bp.post("/v2/bot/richmenu/alias")
    def create_alias() -> Response:
        payload = require_json_object(parse_json(request.get_data()), "richMenuAliasId", "richMenuId")
        check_alias_id(payload["richMenuAliasId"])
        menu = platform.rich_menus.get(payload["richMenuId"])
        if menu is None or menu["image"] is None:
            raise LineApiError(400, "richmenu not found")
        with platform.lock:
            if payload["richMenuAliasId"] in platform.aliases:
                raise LineApiError(400, "conflict richmenu alias id")
            platform.aliases[payload["richMenuAliasId"]] = payload["richMenuId"]
            platform.touch()
        return jsonify({})

    @bp.get("/v2/bot/richmenu/alias/list")
    def list_aliases() -> Response:
        with platform.lock:
            aliases = [{"richMenuAliasId": a, "richMenuId": m} for a, m in platform.aliases.items()]
        return jsonify({"aliases": aliases})

    @bp.get("/v2/bot/richmenu/alias/<alias_id>")
    def get_alias(alias_id: str) -> Response:
        menu_id = platform.aliases.get(alias_id)
        if menu_id is None:
            raise LineApiError(404, NOT_FOUND)
        return jsonify({"richMenuAliasId": alias_id, "richMenuId": menu_id})

    @bp.post("/v2/bot/richmenu/alias/<alias_id>")
    def update_alias(alias_id: str) -> Response:
        payload = require_json_object(parse_json(request.get_data()), "richMenuId")
        menu = platform.rich_menus.get(payload["richMenuId"])
        if alias_id not in platform.aliases or menu is None or menu["image"] is None:
            raise LineApiError(400, "richmenu not found" if alias_id in platform.aliases else "alias not found")
        with platform.lock:
            platform.aliases[alias_id] = payload["richMenuId"]
            platform.touch()
        return jsonify({})

    @bp.delete("/v2/bot/richmenu/alias/<alias_id>")
    def delete_alias(alias_id: str) -> Response:
        with platform.lock:
            if platform.aliases.pop(alias_id, None) is None:
                raise LineApiError(400, "alias not found")
            platform.touch()
        return jsonify({})


def _pixel_size(data: bytes, expected_format: str) -> tuple[int, int] | None:
    """The image's pixel size, or None when it is not a readable image of the declared format."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size if image.format == expected_format else None
    except (UnidentifiedImageError, OSError):
        return None
