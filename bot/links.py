"""Signed, expiring links: pages for one LINE user (a page never trusts a bare user id in the URL) and the images
LINE fetches (barcodes). The chat sends them; the web pages read them."""

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


def bind_start_url(settings: Settings, line_user_id: str) -> str:
    """The chat's "綁定既有會員" button: opening it asks LINE for an account-link token, then shows the bind page.

    The token is issued when the shopper opens the page (it lives 10 minutes), not when the chat card is sent.
    """
    token = sign_link(settings, "bind-start", {"u": line_user_id})
    return f"{settings.public_base_url}/members/bind/start?t={token}"


def image_path(settings: Settings, code: str, kind: str) -> str:
    """The site-relative path of a signed, expiring PNG of `code` (`kind` is "code128" or "qr")."""
    token = sign_link(settings, "barcode-image", {"c": code, "k": kind})
    return f"/img/{token}.png"


def image_url(settings: Settings, code: str, kind: str) -> str:
    """The absolute (HTTPS in production) URL of a signed PNG of `code`, as LINE's image components need."""
    return settings.public_base_url + image_path(settings, code, kind)


def card_url(settings: Settings, line_user_id: str) -> str:
    """The live member card of a LINE user, behind a link signed for them and valid 12 hours."""
    token = sign_link(settings, "card", {"u": line_user_id})
    return f"{settings.public_base_url}/members/card?t={token}"


def coupon_image_url(settings: Settings, code: str) -> str:
    """The absolute URL of a signed Code 128 PNG of a coupon code, valid for a day (LINE's image messages)."""
    token = sign_link(settings, "coupon-image", {"c": code})
    return f"{settings.public_base_url}/img/coupon/{token}.png"
