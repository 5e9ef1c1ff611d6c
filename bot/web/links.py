"""Signed, expiring links that open a page for one LINE user: the page never trusts a bare user id in the URL."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.settings import Settings

LINK_MAX_AGE_SECONDS = 10 * 60


class LinkInvalid(Exception):
    """The link was forged, altered or has expired; `message` is zh-TW text for the shopper."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=f"omo-link:{purpose}")


def sign_link(settings: Settings, purpose: str, payload: dict[str, Any]) -> str:
    """A token carrying `payload` for one purpose (join, bind, card...)."""
    return str(_serializer(settings, purpose).dumps(payload))


def read_link(settings: Settings, purpose: str, token: str, max_age: int = LINK_MAX_AGE_SECONDS) -> dict[str, Any]:
    """The payload of a token made by `sign_link` for this purpose, if it is genuine and fresh."""
    try:
        payload = _serializer(settings, purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkInvalid("連結已過期，請回到 LINE 重新開啟") from exc
    except BadSignature as exc:
        raise LinkInvalid("連結無效，請回到 LINE 重新開啟") from exc
    if not isinstance(payload, dict):
        raise LinkInvalid("連結無效，請回到 LINE 重新開啟")
    return payload


def join_url(settings: Settings, line_user_id: str) -> str:
    """The join page for a LINE user who is not a member yet."""
    token = sign_link(settings, "join", {"u": line_user_id})
    return f"{settings.public_base_url}/members/join?t={token}"


def bind_url(settings: Settings, line_user_id: str, link_token: str) -> str:
    """The page where a LINE user proves they own an existing membership (LINE account-link flow)."""
    token = sign_link(settings, "bind", {"u": line_user_id, "lt": link_token})
    return f"{settings.public_base_url}/members/bind?t={token}"
