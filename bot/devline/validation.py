"""The request-body rules LINE enforces, checked with line-bot-sdk's own models plus LINE's documented limits."""

from __future__ import annotations

import json
import re
from typing import Any

from linebot.v3.messaging import (
    BroadcastRequest,
    Message,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
)

from bot.devline.errors import LineApiError, body_errors, detail

SEND_MODELS: dict[str, Any] = {
    "reply": ReplyMessageRequest,
    "push": PushMessageRequest,
    "multicast": MulticastRequest,
    "broadcast": BroadcastRequest,
    "narrowcast": NarrowcastRequest,
}
MAX_MESSAGES = 5
MAX_MULTICAST = 500
MAX_TEXT = 5000
MAX_ALT_TEXT = 1500
MAX_QUICK_REPLY_ITEMS = 13
MAX_AREAS = 20
URI_SCHEMES = ("http://", "https://", "line://", "tel:")
ALIAS_ID = re.compile(r"^[a-z0-9_-]{1,32}$")
# What the SDK's models raise on bodies of the wrong shape (pydantic's ValidationError is a ValueError).
MODEL_ERRORS = (ValueError, TypeError, AttributeError, KeyError)


def parse_json(raw: bytes) -> Any:
    """The JSON body, or LINE's 400 for one that is not JSON."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise body_errors([detail(f"Invalid JSON: {exc}", "")]) from exc


def model_details(exc: Exception, prefix: str = "") -> list[dict[str, str]]:
    """LINE-style details from an SDK model error: property paths like messages[0].text."""
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic's ValidationError, which the SDK's models raise
        return [detail(error["msg"], _path(prefix, error["loc"])) for error in errors()]
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "failed to lookup discriminator" in text:
        # The SDK names the object kind first ("Message failed to ..."); LINE points at the bad type.
        return [detail(f"{text.split()[0]} type is not supported", _path(prefix, ("type",)))]
    return [detail(text[:300], prefix)]


def _path(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "__root__":
            path = f"{path}.{part}" if path else str(part)
    return path


def check_send(kind: str, payload: Any) -> dict[str, Any]:
    """A send request (reply, push, multicast, broadcast, narrowcast) that LINE would accept, or its 400."""
    if not isinstance(payload, dict):
        raise body_errors([detail("must be a JSON object", "")])
    messages = payload.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        raise body_errors([detail(f"Size must be between 1 and {MAX_MESSAGES}", "messages")])
    if kind == "multicast":
        to = payload.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= MAX_MULTICAST:
            raise body_errors([detail(f"Size must be between 1 and {MAX_MULTICAST}", "to")])
    problems: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        problems += message_problems(message, f"messages[{index}]")
    if not problems:
        try:
            SEND_MODELS[kind].from_dict(payload)
        except MODEL_ERRORS as exc:
            problems = model_details(exc)
    if problems:
        raise body_errors(problems)
    return payload


def message_problems(message: Any, prop: str) -> list[dict[str, str]]:
    """What is wrong with one message object: the SDK's model first, then LINE's length limits."""
    if not isinstance(message, dict):
        return [detail("must be a message object", prop)]
    try:
        Message.from_dict(message)
    except MODEL_ERRORS as exc:
        return model_details(exc, prop)
    problems = []
    if message.get("type") == "text":
        text = message.get("text", "")
        if not text:
            problems.append(detail("May not be empty", f"{prop}.text"))
        elif len(text) > MAX_TEXT:
            problems.append(detail(f"Length must be between 0 and {MAX_TEXT}", f"{prop}.text"))
    alt_text = message.get("altText")
    if isinstance(alt_text, str) and len(alt_text) > MAX_ALT_TEXT:
        problems.append(detail(f"Length must be between 0 and {MAX_ALT_TEXT}", f"{prop}.altText"))
    items = (message.get("quickReply") or {}).get("items")
    if isinstance(items, list) and not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
        problems.append(detail(f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}", f"{prop}.quickReply.items"))
    return problems


def check_rich_menu(payload: Any) -> dict[str, Any]:
    """A rich menu object LINE would accept: size 800-2500 wide, >= 250 high, ratio >= 1.45; <= 20 areas."""
    if not isinstance(payload, dict):
        raise body_errors([detail("must be a JSON object", "")])
    problems = [
        detail("must be specified", key)
        for key in ("size", "selected", "name", "chatBarText", "areas")
        if payload.get(key) is None
    ]
    if not problems:
        try:
            RichMenuRequest.from_dict(payload)
        except MODEL_ERRORS as exc:
            problems = model_details(exc)
    if not problems:
        problems = _rich_menu_rules(payload)
    if problems:
        raise body_errors(problems)
    return payload


def _rich_menu_rules(payload: dict[str, Any]) -> list[dict[str, str]]:
    problems = []
    width, height = payload["size"].get("width"), payload["size"].get("height")
    if not (isinstance(width, int) and 800 <= width <= 2500):
        problems.append(detail("width must be between 800 and 2500", "size.width"))
    if not (isinstance(height, int) and height >= 250):
        problems.append(detail("height must be 250 or more", "size.height"))
    if not problems and width / height < 1.45:
        problems.append(detail("aspect ratio (width / height) must be 1.45 or more", "size"))
    areas = payload["areas"]
    if len(areas) > MAX_AREAS:
        problems.append(detail(f"Size must be between 0 and {MAX_AREAS}", "areas"))
    for index, area in enumerate(areas):
        action = area.get("action") or {}
        if action.get("type") == "uri" and not str(action.get("uri", "")).startswith(URI_SCHEMES):
            problems.append(detail("invalid uri", f"areas[{index}].action.uri"))
        if action.get("type") == "richmenuswitch" and not (action.get("richMenuAliasId") and action.get("data")):
            problems.append(detail("richMenuAliasId and data must be specified", f"areas[{index}].action"))
    return problems


def require_json_object(payload: Any, *keys: str) -> dict[str, Any]:
    """A JSON object with these keys present, or LINE's 400 naming the missing ones."""
    if not isinstance(payload, dict):
        raise body_errors([detail("must be a JSON object", "")])
    missing = [detail("must be specified", key) for key in keys if payload.get(key) in (None, "")]
    if missing:
        raise body_errors(missing)
    return payload


def check_alias_id(alias_id: Any) -> None:
    """Rich menu alias ids match [a-z0-9_-]{1,32}."""
    if not isinstance(alias_id, str) or not ALIAS_ID.match(alias_id):
        raise LineApiError(400, "The request body has 1 error(s)", [detail("invalid alias id", "richMenuAliasId")])
