"""The developer chat page (GET /dev/line), its JSON endpoints, and a stand-in of LINE's account-link dialog."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for

from bot.devline.platform import DevLinePlatform
from bot.settings import Settings

LANGUAGES = ("zh-TW", "en", "ja")
RECENT_DELIVERIES = 5


def register_page(bp: Blueprint, platform: DevLinePlatform, settings: Settings) -> None:
    """Add the chat page, the JSON API it polls and posts to, and the account-link dialog."""

    @bp.get("")
    @bp.get("/")
    def index() -> str:
        return render_template("devline/chat.html", brand_name=settings.brand_name, languages=LANGUAGES)

    def payload() -> dict[str, Any]:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else {}

    def known(user_id: str) -> str:
        if user_id not in platform.users:
            abort(404, description="no such user")
        return user_id

    def queued(delivery_event: dict[str, Any]) -> Response:
        return jsonify({"queued": True, "eventType": delivery_event.get("type")})

    @bp.get("/api/users")
    def list_users() -> Response:
        with platform.lock:
            users = [user.as_dict() for user in platform.users.values()]
        return jsonify({"users": users})

    @bp.post("/api/users")
    def create_user() -> tuple[Response, int]:
        body = payload()
        name = str(body.get("displayName", "")).strip()
        language = str(body.get("language") or "zh-TW")
        if not name or len(name) > 20 or language not in LANGUAGES:
            return jsonify({"error": "displayName (1-20 characters) and language (zh-TW, en, ja) are needed"}), 400
        user_id = platform.create_user(name, language, body.get("pictureUrl") or None)
        return jsonify({"user": platform.users[user_id].as_dict()}), 201

    @bp.post("/api/users/<user_id>/follow")
    def follow(user_id: str) -> Response:
        was_blocked = platform.users[known(user_id)].friendship == "blocked"
        return queued(platform.follow(user_id, unblocked=was_blocked, background=True).event)

    @bp.post("/api/users/<user_id>/unfollow")
    def unfollow(user_id: str) -> Response:
        return queued(platform.unfollow(known(user_id), background=True).event)

    @bp.post("/api/users/<user_id>/text")
    def text(user_id: str) -> tuple[Response, int] | Response:
        words = str(payload().get("text", ""))
        if not words.strip():
            return jsonify({"error": "text is empty"}), 400
        return queued(platform.send_text(known(user_id), words, background=True).event)

    @bp.post("/api/users/<user_id>/postback")
    def postback(user_id: str) -> tuple[Response, int] | Response:
        body = payload()
        data = body.get("data")
        params = body.get("params") if isinstance(body.get("params"), dict) else None
        if not isinstance(data, str):
            return jsonify({"error": "data is needed"}), 400
        display_text = body.get("displayText") if isinstance(body.get("displayText"), str) else None
        delivery = platform.postback(known(user_id), data, params, display_text=display_text, background=True)
        return queued(delivery.event)

    @bp.post("/api/users/<user_id>/richmenu-switch")
    def switch_rich_menu(user_id: str) -> tuple[Response, int] | Response:
        # The phone switches tabs by itself, then tells the bot with a postback (newRichMenuAliasId, status).
        body = payload()
        alias_id, data = body.get("richMenuAliasId"), body.get("data")
        if not isinstance(alias_id, str) or not isinstance(data, str):
            return jsonify({"error": "richMenuAliasId and data are needed"}), 400
        return queued(platform.switch_rich_menu(known(user_id), alias_id, data, background=True).event)

    @bp.get("/api/state")
    def state() -> Response:
        user_id = request.args.get("user", "")
        with platform.lock:
            users = [user.as_dict() for user in platform.users.values()]
            version = platform.version
            deliveries = platform.deliveries[-RECENT_DELIVERIES:]
        selected = platform.users.get(user_id)
        return jsonify(
            {
                "version": version,
                "users": users,
                "user": selected.as_dict() if selected else None,
                "chat": platform.chat(user_id) if selected else [],
                "richMenu": rich_menu_view(user_id) if selected else None,
                "deliveries": deliveries,
            }
        )

    def rich_menu_view(user_id: str) -> dict[str, Any] | None:
        """The menu the user's phone shows (definition, image URL), why it shows, and the aliases naming it."""
        menu_id, source = platform.displayed_rich_menu_and_source(user_id)
        with platform.lock:
            menu = platform.rich_menus.get(menu_id or "")
            aliases = sorted(alias for alias, target in platform.aliases.items() if target == menu_id)
        if menu_id is None or menu is None or menu["image"] is None:
            return None
        return {
            "richMenuId": menu_id,
            **menu["definition"],
            "imageUrl": url_for("devline.rich_menu_image", menu_id=menu_id),
            "source": source,
            "aliases": aliases,
        }

    @bp.get("/api/richmenu/<menu_id>/image")
    def rich_menu_image(menu_id: str) -> Response:
        menu = platform.rich_menus.get(menu_id)
        if menu is None or menu["image"] is None:
            abort(404)
        return Response(menu["image"], mimetype=menu["content_type"])

    @bp.post("/api/reset")
    def reset() -> Response:
        platform.reset()
        return jsonify({"reset": True})

    @bp.get("/dialog/bot/accountLink")
    def account_link_dialog() -> tuple[str, int]:
        # Stands in for https://access.line.me/dialog/bot/accountLink?linkToken=...&nonce=...
        token, nonce = request.args.get("linkToken", ""), request.args.get("nonce", "")
        issued = platform.link_tokens.get(token)
        user_id = platform.consume_link_token(token)
        if user_id is not None and nonce:
            platform.account_link(user_id, nonce, "ok", background=True)
            return render_template("devline/account_link.html", linked=True), 200
        if issued is not None and nonce:
            platform.account_link(issued["user_id"], nonce, "failed", background=True)
        return render_template("devline/account_link.html", linked=False), 400
