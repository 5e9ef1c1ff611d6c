"""Webhook bodies as LINE sends them: event objects, the body around them and its signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from ulid import ULID

# Event types that carry a reply token (webhook.yml); unfollow never does.
REPLYABLE_TYPES = frozenset({"message", "follow", "postback", "accountLink", "beacon", "join", "memberJoined"})


def new_message_id() -> str:
    """A LINE-style numeric message id (18 digits)."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def new_quote_token() -> str:
    """An opaque quote token."""
    return secrets.token_urlsafe(48)


def new_reply_token() -> str:
    """A reply token: 32 hex characters, like LINE's."""
    return secrets.token_hex(16)


def base_event(event_type: str, user_id: str, timestamp_ms: int, mode: str) -> dict[str, Any]:
    """The properties every webhook event has (line-bot-sdk v3 rejects an event without any of them)."""
    return {
        "type": event_type,
        "mode": mode,
        "timestamp": timestamp_ms,
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": str(ULID()),
        "deliveryContext": {"isRedelivery": False},
    }


def event_content(event_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The type-specific part of an event, from keyword fields (text, unblocked, data, params, nonce, result)."""
    if event_type == "message":
        message: dict[str, Any] = {
            "id": new_message_id(),
            "type": "text",
            "text": fields["text"],
            "quoteToken": new_quote_token(),
        }
        return {"message": message}
    if event_type == "follow":
        return {"follow": {"isUnblocked": bool(fields.get("unblocked", False))}}
    if event_type == "postback":
        postback: dict[str, Any] = {"data": fields["data"]}
        if fields.get("params"):
            postback["params"] = dict(fields["params"])
        return {"postback": postback}
    if event_type == "accountLink":
        return {"link": {"result": fields.get("result", "ok"), "nonce": fields["nonce"]}}
    if event_type == "unfollow":
        return {}
    raise ValueError(f"the local LINE platform does not build {event_type!r} events")


def has_reply_token(event_type: str, fields: dict[str, Any]) -> bool:
    """LINE omits the reply token of unfollow events and of failed account links."""
    if event_type == "accountLink":
        return bool(fields.get("result", "ok") == "ok")
    return event_type in REPLYABLE_TYPES


def as_redelivered(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of the event as LINE redelivers it: same webhookEventId, isRedelivery true."""
    copy: dict[str, Any] = json.loads(json.dumps(event))
    copy["deliveryContext"] = {"isRedelivery": True}
    return copy


def encode_body(destination: str, events: list[dict[str, Any]]) -> bytes:
    """The webhook body bytes; CJK and emoji go as raw UTF-8, as LINE sends them."""
    payload = {"destination": destination, "events": events}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def sign(channel_secret: str, body: bytes) -> str:
    """X-Line-Signature: base64(HMAC-SHA256(channel secret, body))."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def bot_user_id(channel_secret: str) -> str:
    """A stable bot user id for the webhook's `destination`, derived from the channel."""
    return "U" + hashlib.sha256(("bot:" + channel_secret).encode("utf-8")).hexdigest()[:32]
