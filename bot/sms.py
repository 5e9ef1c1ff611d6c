"""Text messages to phones (one-time codes): a development backend that keeps them, and an HTTP gateway backend.

`SMS_BACKEND` chooses: `dev` (the default outside production) logs each message with the phone masked and keeps it
in memory, shown at `GET /dev/sms`; `http` POSTs `{"to", "text"}` as JSON with a bearer token to `SMS_HTTP_URL`.

Pages never wait on the gateway: `send_in_background` hands a message to a few sender threads of the web process
and returns at once, so a page answers in the same time whether or not (and however slowly) a text goes out.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from typing import Protocol

from bot.services.membership.phones import mask_phone
from bot.settings import ConfigurationError, Settings

log = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 10.0
DEV_OUTBOX_LIMIT = 200
SENDER_THREADS = 4


class SmsDeliveryError(RuntimeError):
    """The gateway did not take the message."""


class SmsBackend(Protocol):
    def send(self, phone_e164: str, text: str) -> None:
        """Send `text` to one phone (E.164); raise SmsDeliveryError when it cannot be sent."""


def verification_text(brand: str, code: str) -> str:
    """The text of a one-time code SMS."""
    return f"【{brand}】您的會員綁定驗證碼為 {code}，5 分鐘內有效。請勿提供給他人。"


def join_code_text(brand: str, code: str) -> str:
    """The text of the join page's code SMS, to a phone that is no member's yet."""
    return f"【{brand}】您的加入會員驗證碼為 {code}，5 分鐘內有效。請勿提供給他人。"


def already_member_text(brand: str, code: str) -> str:
    """The join page's code SMS to a member's own phone: it says so, and the code links their LINE account."""
    return (
        f"【{brand}】此手機號碼已是會員。輸入驗證碼 {code} 即可將會員綁定到您的 LINE 帳號，5 分鐘內有效。"
        "如非本人操作，請忽略此簡訊。"
    )


class DevSmsBackend:
    """Sends nothing: keeps the latest messages for the developer to read at /dev/sms, and logs only that one came
    (a message holds a one-time code, which no log may keep)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outbox: list[tuple[str, str]] = []

    def send(self, phone_e164: str, text: str) -> None:
        log.info("SMS (not sent, development) to %s: read it at /dev/sms", mask_phone(phone_e164))
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


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_pending: set[Future[None]] = set()


def send_in_background(backend: SmsBackend, phone_e164: str, text: str, *, reference: int) -> None:
    """Send `text` on one of the process's sender threads and return at once; a failure is logged with
    `reference` (the verification's id), never with the text, which holds a code.

    A message lost with its process (a crash before it went out) is not retried: the shopper asks for a new code.
    """
    future = _sender().submit(_send, backend, phone_e164, text, reference)
    with _executor_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def wait_for_background_sends(timeout: float = 10.0) -> None:
    """Wait until the messages handed over so far have been sent or have failed (tests read the outbox after it)."""
    with _executor_lock:
        pending = list(_pending)
    wait_for_futures(pending, timeout=timeout)


def _sender() -> ThreadPoolExecutor:
    # Made on first use, in the process that sends (a forking server starts its workers before any request).
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=SENDER_THREADS, thread_name_prefix="sms")
        return _executor


def _send(backend: SmsBackend, phone_e164: str, text: str, reference: int) -> None:
    try:
        backend.send(phone_e164, text)
    except SmsDeliveryError as exc:
        log.error("one-time code %s not sent: %s", reference, exc)
    except Exception:
        log.exception("one-time code %s not sent: the SMS backend failed", reference)


def _forget(future: Future[None]) -> None:
    with _executor_lock:
        _pending.discard(future)
