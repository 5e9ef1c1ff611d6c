"""The Messaging API routes of the local LINE platform: auth, request log, sending, profiles, link tokens."""

from __future__ import annotations

import hmac
import re
import uuid
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from bot.devline.errors import AUTH_FAILED, NOT_FOUND, LineApiError, body_errors, detail
from bot.devline.platform import DevLinePlatform
from bot.devline.state import USER_ID_PATTERN
from bot.devline.validation import SEND_MODELS, check_send, parse_json

RETRY_KEY_ENDPOINTS = ("push", "multicast", "narrowcast", "broadcast")
UUID_HEX = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def api_path() -> str | None:
    """The request's Messaging API path ("/v2/bot/..."), or None for the chat page's own routes."""
    _, found, rest = request.path.partition("/v2/bot/")
    return "/v2/bot/" + rest if found else None


def register_api(bp: Blueprint, platform: DevLinePlatform, access_token: str) -> None:
    """Add the Messaging API routes and the hooks every Messaging API call goes through."""

    @bp.errorhandler(LineApiError)
    def line_error(exc: LineApiError) -> tuple[Response, int, dict[str, str]]:
        return jsonify(exc.body()), exc.status, exc.headers

    @bp.before_request
    def authenticate_and_inject_failures() -> None:
        path = api_path()
        if path is None:
            return
        g.line_request_id = str(uuid.uuid4())
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), access_token.encode()):
            raise LineApiError(401, AUTH_FAILED)
        if "X-Line-Retry-Key" in request.headers:
            if not path.startswith(tuple(f"/v2/bot/message/{kind}" for kind in RETRY_KEY_ENDPOINTS)):
                raise LineApiError(400, "X-Line-Retry-Key is not supported by this API")
            if not UUID_HEX.match(request.headers["X-Line-Retry-Key"]):
                raise LineApiError(400, "X-Line-Retry-Key must be a UUID in hexadecimal format")
        failure = platform.take_failure(path)
        if failure is not None:
            raise failure
        if request.method == "POST" and path.startswith("/v2/bot/message/"):
            platform.take_rate(path.removeprefix("/v2/bot/message/"))

    @bp.after_request
    def log_messaging_api_call(response: Response) -> Response:
        path = api_path()
        if path is None:
            return response
        response.headers["X-Line-Request-Id"] = g.get("line_request_id") or str(uuid.uuid4())
        platform.log_request(
            {
                "method": request.method,
                "path": path,
                "retry_key": request.headers.get("X-Line-Retry-Key"),
                "status": response.status_code,
                "body": request.get_json(silent=True) if request.is_json else None,
                "response": response.get_json(silent=True) if response.is_json else None,
            }
        )
        return response

    def send(kind: str) -> tuple[Response, int, dict[str, str]]:
        payload = check_send(kind, parse_json(request.get_data()))
        to = payload.get("to")
        recipient = payload.get("recipient") if kind == "narrowcast" else None
        audience_group_id = None
        if isinstance(recipient, dict) and recipient.get("type") == "audience":
            audience_group_id = recipient.get("audienceGroupId")
            if not isinstance(audience_group_id, int):
                raise body_errors([detail("must not be null", "recipient.audienceGroupId")])
        status, body, headers = platform.send(
            kind,
            payload["messages"],
            request_id=g.line_request_id,
            to=[to] if isinstance(to, str) else to,
            reply_token=payload.get("replyToken"),
            retry_key=request.headers.get("X-Line-Retry-Key"),
            audience_group_id=audience_group_id,
        )
        # A narrowcast's progress is asked for with the X-Line-Request-Id every answer carries.
        return jsonify(body), status, headers

    for kind in SEND_MODELS:
        bp.add_url_rule(f"/v2/bot/message/{kind}", f"send_{kind}", send, methods=["POST"], defaults={"kind": kind})

    @bp.get("/v2/bot/message/progress/narrowcast")
    def narrowcast_progress() -> Response:
        progress = platform.narrowcasts.get(request.args.get("requestId", ""))
        if progress is None:
            raise LineApiError(404, NOT_FOUND)
        return jsonify(progress)

    @bp.get("/v2/bot/profile/<user_id>")
    def profile(user_id: str) -> Response:
        if not USER_ID_PATTERN.match(user_id):
            raise LineApiError(400, "The value for the 'userId' parameter is invalid")
        found = platform.profile(user_id)
        if found is None:
            raise LineApiError(404, NOT_FOUND)
        return jsonify(found)

    @bp.post("/v2/bot/user/<user_id>/linkToken")
    def link_token(user_id: str) -> Response:
        if not USER_ID_PATTERN.match(user_id):
            raise LineApiError(400, "The value for the 'userId' parameter is invalid")
        return jsonify({"linkToken": platform.issue_link_token(user_id)})

    @bp.get("/v2/bot/message/quota")
    def quota() -> Response:
        return jsonify({"type": "limited", "value": platform.quota_limit})

    @bp.get("/v2/bot/message/quota/consumption")
    def quota_consumption() -> Response:
        return jsonify({"totalUsage": platform.total_usage})

    @bp.get("/v2/bot/info")
    def bot_info() -> Response:
        info: dict[str, Any] = {
            "userId": platform.bot_user_id,
            "basicId": "@000devline",
            "displayName": "Local LINE platform",
            "chatMode": "bot",
            "markAsReadMode": "auto",
        }
        return jsonify(info)
