"""Text messages to phones (one-time codes): a development backend that keeps them, and an HTTP gateway backend.

`SMS_BACKEND` chooses: `dev` (the default outside production) logs each message with the phone masked and keeps it
in memory, shown at `GET /dev/sms`; `http` POSTs `{"to", "text"}` as JSON with a bearer token to `SMS_HTTP_URL`.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Protocol

from bot.services.membership.phones import mask_phone
from bot.settings import ConfigurationError, Settings

log = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 10.0
DEV_OUTBOX_LIMIT = 200


class SmsDeliveryError(RuntimeError):
    """The gateway did not take the message."""


class SmsBackend(Protocol):
    def send(self, phone_e164: str, text: str) -> None:
        """Send `text` to one phone (E.164); raise SmsDeliveryError when it cannot be sent."""


def verification_text(brand: str, code: str) -> str:
    """The text of a one-time code SMS."""
    return f"【{brand}】您的會員綁定驗證碼為 {code}，5 分鐘內有效。請勿提供給他人。"


class DevSmsBackend:
    """Sends nothing: logs each message (phone masked) and keeps the latest ones for the developer to read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outbox: list[tuple[str, str]] = []

    def send(self, phone_e164: str, text: str) -> None:
        log.info("SMS (not sent, development) to %s: %s", mask_phone(phone_e164), text)
        with self._lock:
            self.outbox.append((phone_e164, text))
            del self.outbox[:-DEV_OUTBOX_LIMIT]

    def messages(self) -> list[tuple[str, str]]:
        """The kept messages, oldest first."""
        with self._lock:
            return list(self.outbox)


class HttpSmsBackend:
    """An SMS gateway reached over HTTPS: POST {"to": phone, "text": text} with `Authorization: Bearer <token>`."""

    def __init__(self, url: str, token: str, *, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.url = url
        self._token = token
        self._timeout = timeout

    def send(self, phone_e164: str, text: str) -> None:
        body = json.dumps({"to": phone_e164, "text": text}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self._token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            raise SmsDeliveryError(f"SMS gateway answered {exc.code} for {mask_phone(phone_e164)}") from exc
        except OSError as exc:
            raise SmsDeliveryError(f"SMS gateway unreachable: {exc}") from exc
        if not 200 <= status < 300:
            raise SmsDeliveryError(f"SMS gateway answered {status} for {mask_phone(phone_e164)}")
        log.info("SMS sent to %s", mask_phone(phone_e164))


def build_sms_backend(settings: Settings) -> SmsBackend:
    """The backend the settings ask for; an `http` backend without its URL or token stops the start."""
    if settings.sms_backend == "dev":
        return DevSmsBackend()
    missing = [
        name
        for name, value in (("SMS_HTTP_URL", settings.sms_http_url), ("SMS_HTTP_TOKEN", settings.sms_http_token))
        if not value
    ]
    if missing:
        raise ConfigurationError("SMS_BACKEND=http (the production default) needs " + " and ".join(missing))
    return HttpSmsBackend(settings.sms_http_url, settings.sms_http_token)
