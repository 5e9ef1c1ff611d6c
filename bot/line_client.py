"""The one way the bot talks to the LINE platform (or the local stand-in that plays it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    BroadcastRequest,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry

from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_MULTICAST_RECIPIENTS = 500


class LineDeliveryError(RuntimeError):
    """LINE refused a request for good (not a transient failure)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"LINE answered {status}: {body}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str | None
    picture_url: str | None
    language: str | None


def make_retry(backoff_factor: float = 0.5, total: int = 4) -> Retry:
    """429 and 5xx are retried with exponential backoff, honouring Retry-After; POST included."""
    return Retry(
        total=total,
        connect=total,
        read=total,
        status=total,
        backoff_factor=backoff_factor,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class LineClient:
    """Wraps line-bot-sdk v3 `MessagingApi`; every send with a retry key is idempotent across retries."""

    def __init__(self, settings: Settings, *, backoff_factor: float = 0.5, timeout: float = 10.0) -> None:
        # The SDK's own hosts (api.line.me, api-data.line.me) apply only when no host is configured.
        host = None if settings.uses_real_line else settings.line_api_base_url
        configuration = Configuration(host=host, access_token=settings.line_channel_access_token)
        configuration.retries = make_retry(backoff_factor)
        self._api_client = ApiClient(configuration)
        self._timeout = timeout
        self.api = MessagingApi(self._api_client)
        self.blob = MessagingApiBlob(self._api_client)

    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> None:
        """Answer an event with its single-use reply token."""
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        self._call(lambda: self.api.reply_message(request, _request_timeout=self._timeout))

    def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> None:
        """Push to one user; a 409 for a repeated retry key means LINE already accepted it."""
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        self._call_idempotent(
            lambda: self.api.push_message(request, x_line_retry_key=retry_key, _request_timeout=self._timeout),
            retry_key,
        )

    def multicast(self, to: list[str], messages: list[dict[str, Any]], retry_key: str) -> None:
        """Send to up to 500 users at once."""
        if not 1 <= len(to) <= MAX_MULTICAST_RECIPIENTS:
            raise ValueError(f"multicast takes 1 to {MAX_MULTICAST_RECIPIENTS} recipients, not {len(to)}")
        request = MulticastRequest.from_dict({"to": to, "messages": messages})
        self._call_idempotent(
            lambda: self.api.multicast(request, x_line_retry_key=retry_key, _request_timeout=self._timeout),
            retry_key,
        )

    def broadcast(self, messages: list[dict[str, Any]], retry_key: str) -> None:
        """Send to every friend of the official account."""
        request = BroadcastRequest.from_dict({"messages": messages})
        self._call_idempotent(
            lambda: self.api.broadcast(request, x_line_retry_key=retry_key, _request_timeout=self._timeout),
            retry_key,
        )

    def get_profile(self, user_id: str) -> Profile:
        """The user's LINE profile (name, picture, language)."""
        profile = self._call(lambda: self.api.get_profile(user_id, _request_timeout=self._timeout))
        return Profile(
            user_id=profile.user_id,
            display_name=profile.display_name,
            picture_url=profile.picture_url,
            language=profile.language,
        )

    def issue_link_token(self, user_id: str) -> str:
        """A single-use account-link token, valid for 10 minutes."""
        return str(self._call(lambda: self.api.issue_link_token(user_id, _request_timeout=self._timeout)).link_token)

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        """Show this rich menu to this user (a per-user menu wins over the default)."""
        self._call(lambda: self.api.link_rich_menu_id_to_user(user_id, rich_menu_id, _request_timeout=self._timeout))

    def unlink_rich_menu(self, user_id: str) -> None:
        """Take the per-user menu away so the default menu shows again."""
        self._call(lambda: self.api.unlink_rich_menu_id_from_user(user_id, _request_timeout=self._timeout))

    def _call(self, send: Callable[[], T]) -> T:
        try:
            return send()
        except ApiException as exc:
            raise LineDeliveryError(exc.status or 0, str(exc.body)) from exc
        except HTTPError as exc:
            raise LineDeliveryError(0, f"LINE unreachable: {exc}") from exc

    def _call_idempotent(self, send: Callable[[], object], retry_key: str) -> None:
        try:
            self._call(send)
        except LineDeliveryError as exc:
            if exc.status != 409:
                raise
            log.info("LINE already accepted retry key %s", retry_key)
