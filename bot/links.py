"""Encrypted, expiring links: pages for one LINE user (a page never trusts a bare user id in the URL) and the images
LINE fetches (barcodes). The chat sends them; the web pages read them.

A token is opaque: its payload (a LINE user id, a code, a shopper's name, phone and birthday between two steps of a
form) is encrypted and authenticated with Fernet (AES-128-CBC + HMAC-SHA256, stamped with the time it was made),
under a key derived from SECRET_KEY for its purpose alone, so a token for one purpose never opens another."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.settings import Settings

LINK_MAX_AGE_SECONDS = 10 * 60

_EXPIRED = "連結已過期，請回到 LINE 重新開啟"
_INVALID = "連結無效，請回到 LINE 重新開啟"
# Fernet tokens are URL-safe base64; links carry them without the "=" padding.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,8192}")


class LinkInvalid(Exception):
    """The link was forged, altered or has expired; `message` is zh-TW text for the shopper."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _now_seconds() -> int:
    """The time tokens are stamped with and checked against (the one seam tests move)."""
    return int(time.time())


@lru_cache(maxsize=64)
def _fernet_for(secret_key: str, purpose: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"omo-link:{purpose}".encode()).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _fernet(settings: Settings, purpose: str) -> Fernet:
    return _fernet_for(settings.secret_key, purpose)


def sign_link(settings: Settings, purpose: str, payload: dict[str, Any]) -> str:
    """An opaque token carrying `payload` for one purpose (join, bind, card...)."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    token = _fernet(settings, purpose).encrypt_at_time(data, _now_seconds())
    return token.decode("ascii").rstrip("=")


def read_link(settings: Settings, purpose: str, token: str, max_age: int = LINK_MAX_AGE_SECONDS) -> dict[str, Any]:
    """The payload of a token made by `sign_link` for this purpose, if it is genuine and fresh."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        raise LinkInvalid(_INVALID)
    raw = (token + "=" * (-len(token) % 4)).encode("ascii")
    fernet = _fernet(settings, purpose)
    now = _now_seconds()
    try:
        data = fernet.decrypt_at_time(raw, ttl=max_age, current_time=now)
    except (InvalidToken, binascii.Error, ValueError) as exc:
        # Fernet says InvalidToken both for a forged token and for a genuine one past its time: a genuine token
        # still gives its timestamp, so an old one is "expired" and anything else "invalid".
        try:
            made_at = fernet.extract_timestamp(raw)
        except (InvalidToken, binascii.Error, ValueError):
            raise LinkInvalid(_INVALID) from exc
        raise LinkInvalid(_EXPIRED if made_at + max_age < now else _INVALID) from exc
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise LinkInvalid(_INVALID) from exc
    if not isinstance(payload, dict):
        raise LinkInvalid(_INVALID)
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
    """The site-relative path of an encrypted, expiring PNG link of `code` (`kind` is "code128" or "qr")."""
    token = sign_link(settings, "barcode-image", {"c": code, "k": kind})
    return f"/img/{token}.png"


def image_url(settings: Settings, code: str, kind: str) -> str:
    """The absolute (HTTPS in production) URL of a signed PNG of `code`, as LINE's image components need."""
    return settings.public_base_url + image_path(settings, code, kind)


def card_url(settings: Settings, line_user_id: str) -> str:
    """The live member card of a LINE user, behind a link signed for them and valid 12 hours."""
    token = sign_link(settings, "card", {"u": line_user_id})
    return f"{settings.public_base_url}/members/card?t={token}"


def carrier_image_path(settings: Settings, carrier: str) -> str:
    """The site-relative path of an encrypted, expiring Code 39 PNG link of an e-invoice mobile barcode carrier."""
    token = sign_link(settings, "carrier-image", {"c": carrier})
    return f"/img/carrier/{token}.png"


def carrier_image_url(settings: Settings, carrier: str) -> str:
    """The absolute URL of a signed Code 39 PNG of a carrier, as LINE's image components need."""
    return settings.public_base_url + carrier_image_path(settings, carrier)


def coupon_image_url(settings: Settings, code: str) -> str:
    """The absolute URL of a signed Code 128 PNG of a coupon code, valid for a day (LINE's image messages)."""
    token = sign_link(settings, "coupon-image", {"c": code})
    return f"{settings.public_base_url}/img/coupon/{token}.png"


def scratch_url(settings: Settings, line_user_id: str, play_id: int) -> str:
    """The scratch-card page of one play already decided by the server, behind a link signed for its LINE user
    (bot.web.scratch accepts it for 24 hours; opened again, it shows the same result)."""
    token = sign_link(settings, "scratch", {"u": line_user_id, "p": play_id})
    return f"{settings.public_base_url}/games/scratch?t={token}"
