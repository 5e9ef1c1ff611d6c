"""Audiences for narrowcast on the local LINE platform (the Manage Audience API's upload-by-JSON part).

As LINE: `POST /v2/bot/audienceGroup/upload` creates an audience from at most 10,000 user IDs (`description` 1-120
characters, `isIfaAudience` false), `PUT /v2/bot/audienceGroup/upload` adds up to 10,000 more (202), and
`GET /v2/bot/audienceGroup/{id}` reads it back with its `audienceCount`. Only IDs of users LINE knows count; a
narrowcast to an audience of fewer than 50 is accepted and then fails (its progress: phase failed, errorCode 4).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from bot.devline.errors import NOT_FOUND, LineApiError, body_errors, detail
from bot.devline.state import USER_ID_PATTERN, PlatformState
from bot.devline.validation import parse_json

MAX_UPLOAD_IDS = 10_000
MAX_DESCRIPTION = 120


def _user_ids(payload: dict[str, Any]) -> list[str]:
    audiences = payload.get("audiences", [])
    if not isinstance(audiences, list) or len(audiences) > MAX_UPLOAD_IDS:
        raise body_errors([detail(f"Size must be between 0 and {MAX_UPLOAD_IDS}", "audiences")])
    ids: list[str] = []
    for index, entry in enumerate(audiences):
        user_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(user_id, str) or not USER_ID_PATTERN.match(user_id):
            raise body_errors([detail("Invalid user ID", f"audiences[{index}].id")])
        ids.append(user_id)
    return ids


def register_audiences(bp: Blueprint, platform: PlatformState) -> None:
    """Add the audience routes."""

    @bp.post("/v2/bot/audienceGroup/upload")
    def create_audience() -> tuple[Response, int]:
        payload = parse_json(request.get_data())
        if not isinstance(payload, dict):
            raise body_errors([detail("must be a JSON object", "")])
        description = payload.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= MAX_DESCRIPTION:
            raise body_errors([detail(f"Size must be between 1 and {MAX_DESCRIPTION}", "description")])
        if payload.get("isIfaAudience", False) is not False:
            raise body_errors([detail("IFAs are not user IDs", "isIfaAudience")])
        group = platform.create_audience(description, _user_ids(payload))
        return jsonify(group), 200

    @bp.put("/v2/bot/audienceGroup/upload")
    def add_to_audience() -> tuple[Response, int]:
        payload = parse_json(request.get_data())
        if not isinstance(payload, dict) or not isinstance(payload.get("audienceGroupId"), int):
            raise body_errors([detail("must not be null", "audienceGroupId")])
        if not platform.add_to_audience(payload["audienceGroupId"], _user_ids(payload)):
            raise LineApiError(400, "audience group not found")
        return jsonify({}), 202

    @bp.get("/v2/bot/audienceGroup/<int:audience_group_id>")
    def get_audience(audience_group_id: int) -> Response:
        found = platform.audience(audience_group_id)
        if found is None:
            raise LineApiError(404, NOT_FOUND)
        return jsonify(found)
