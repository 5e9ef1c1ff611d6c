"""The one way the bot talks to the LINE platform (or the local stand-in that plays it)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    BroadcastRequest,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApi,
    MessagingApiBlob,
    RichMenuBulkLinkRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)
from urllib3.exceptions import ConnectTimeoutError, HTTPError, MaxRetryError
from urllib3.util.retry import Retry

from bot.circuit_breaker import CircuitBreaker, CircuitOpen
from bot.pacing import Pacer
from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_MULTICAST_RECIPIENTS = 500
MAX_BULK_LINK_USERS = 500
MAX_AUDIENCE_UPLOAD = 10_000


class LineDeliveryError(RuntimeError):
    """A request LINE did not carry out, or whose outcome is unknown.

    `status` is LINE's HTTP status, 0 when there was no answer. `reached_line` is False when the request surely never
    got to LINE (no connection, or the circuit breaker is open); `outcome_unknown` when it may have been carried out
    (a timeout or a connection dropped after the request was sent).
    """

    def __init__(self, status: int, body: str, *, reached_line: bool = True, outcome_unknown: bool = False) -> None:
        super().__init__(f"LINE answered {status}: {body}" if status else body)
        self.status = status
        self.body = body
        self.reached_line = reached_line
        self.outcome_unknown = outcome_unknown

    @property
    def transient(self) -> bool:
        """Worth trying again later: LINE was unreachable, overloaded or failing."""
        return self.status == 0 or self.status in RETRYABLE_STATUSES


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str | None
    picture_url: str | None
    language: str | None


def make_retry(backoff_factor: float = 0.5, total: int = 2) -> Retry:
    """For calls that may safely be repeated (sends carrying a retry key, reads, menu links): a quick second and
    third try on 429, 5xx or a refused connection, honouring Retry-After. Never after a read timeout: the outbox tries
    again later with the same retry key, and a worker thread is not held for several timeouts in a row."""
    return Retry(
        total=total,
        connect=total,
        read=0,
        status=total,
        other=0,
        backoff_factor=backoff_factor,
        status_forcelist=RETRYABLE_STATUSES,
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _no_retry() -> Retry:
    """A reply is sent once per attempt: LINE cannot tell a repeat from a new reply (its token is single-use)."""
    return Retry(total=0, connect=0, read=0, status=0, other=0, redirect=0, raise_on_status=False)


class LineClient:
    """Wraps line-bot-sdk v3 `MessagingApi`; every send with a retry key is idempotent across retries. Every call goes
    through one circuit breaker: while LINE keeps failing, calls fail at once instead of waiting for it."""

    def __init__(
        self,
        settings: Settings,
        *,
        backoff_factor: float = 0.5,
        timeout: float | None = None,
        breaker: CircuitBreaker | None = None,
        multicast_pacer: Pacer | None = None,
    ) -> None:
        # The SDK's own hosts (api.line.me, api-data.line.me) apply only when no host is configured.
        host = None if settings.uses_real_line else settings.line_api_base_url
        configuration = Configuration(host=host, access_token=settings.line_channel_access_token)
        configuration.retries = make_retry(backoff_factor)
        self._api_client = ApiClient(configuration)
        once = Configuration(host=host, access_token=settings.line_channel_access_token)
        once.retries = _no_retry()
        self._timeout = settings.line_timeout_seconds if timeout is None else timeout
        self.api = MessagingApi(self._api_client)
        self.blob = MessagingApiBlob(self._api_client)
        self._reply_api = MessagingApi(ApiClient(once))
        self.multicast_pacer = multicast_pacer
        self.breaker = breaker or CircuitBreaker(
            settings.line_breaker_failures, float(settings.line_breaker_cool_down_seconds)
        )

    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> None:
        """Answer an event with its single-use reply token: one request, never repeated here."""
        body = {"replyToken": reply_token, "messages": messages}
        self._call(lambda: self._send_json(self._reply_api.api_client, "/v2/bot/message/reply", body))

    def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> None:
        """Push to one user; a 409 for a repeated retry key means LINE already accepted it."""
        body = {"to": to, "messages": messages}
        self._call_idempotent(
            lambda: self._send_json(self._api_client, "/v2/bot/message/push", body, retry_key), retry_key
        )

    def multicast(self, to: list[str], messages: list[dict[str, Any]], retry_key: str) -> None:
        """Send to up to 500 users at once, waiting its turn under LINE's multicast rate when paced."""
        if not 1 <= len(to) <= MAX_MULTICAST_RECIPIENTS:
            raise ValueError(f"multicast takes 1 to {MAX_MULTICAST_RECIPIENTS} recipients, not {len(to)}")
        body = {"to": to, "messages": messages}
        if self.multicast_pacer is not None:
            self.multicast_pacer.wait()
        self._call_idempotent(
            lambda: self._send_json(self._api_client, "/v2/bot/message/multicast", body, retry_key), retry_key
        )

    def _send_json(self, api_client: ApiClient, path: str, body: dict[str, Any], retry_key: str | None = None) -> None:
        """POST a message body through the SDK's client (its auth, host, pool, retries and errors). The messages are
        the outbox's JSON, built and checked with the SDK's models when they were written, so they are sent as they
        are: parsing them into models again and back to JSON cost more than the rest of an event's answer."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if retry_key is not None:
            headers["X-Line-Retry-Key"] = retry_key
        api_client.call_api(
            path,
            "POST",
            header_params=headers,
            body=body,
            auth_settings=["Bearer"],
            response_types_map={},
            _request_timeout=self._timeout,
        )

    def _json(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: list[tuple[str, str]] | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """A Manage Audience or progress call through the SDK's client: its JSON answer (a dict) and headers."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        answer = self._api_client.call_api(
            path,
            method,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["Bearer"],
            response_types_map={},
            _request_timeout=self._timeout,
        )
        raw = answer.raw_data or ""
        data = json.loads(raw) if raw.strip() else {}
        return (data if isinstance(data, dict) else {}), dict(answer.headers or {})

    def create_audience(self, description: str, user_ids: list[str]) -> int:
        """Upload an audience of user IDs (at most 10,000; more are added with `add_to_audience`): its audienceGroupId.
        LINE takes no retry key here: a repeated upload makes a second audience (never a second send)."""
        if len(user_ids) > MAX_AUDIENCE_UPLOAD:
            raise ValueError(f"an audience upload takes at most {MAX_AUDIENCE_UPLOAD} ids, not {len(user_ids)}")
        body = {"description": description, "isIfaAudience": False, "audiences": [{"id": u} for u in user_ids]}
        data, _ = self._call(lambda: self._json("POST", "/v2/bot/audienceGroup/upload", body))
        return int(data["audienceGroupId"])

    def add_to_audience(self, audience_group_id: int, user_ids: list[str]) -> None:
        """Add up to 10,000 user IDs to an uploaded audience (adding one twice leaves it in once)."""
        if not 1 <= len(user_ids) <= MAX_AUDIENCE_UPLOAD:
            raise ValueError(f"an audience upload takes 1 to {MAX_AUDIENCE_UPLOAD} ids, not {len(user_ids)}")
        body = {"audienceGroupId": audience_group_id, "audiences": [{"id": u} for u in user_ids]}
        self._call(lambda: self._json("PUT", "/v2/bot/audienceGroup/upload", body))

    def audience(self, audience_group_id: int) -> dict[str, Any]:
        """An audience as LINE describes it (status, audienceCount, ...)."""
        data, _ = self._call(lambda: self._json("GET", f"/v2/bot/audienceGroup/{int(audience_group_id)}"))
        group = data.get("audienceGroup")
        return group if isinstance(group, dict) else {}

    def narrowcast(self, messages: list[dict[str, Any]], audience_group_id: int, retry_key: str) -> str:
        """Send to an uploaded audience: the request id to ask its progress with. A retry key LINE already accepted
        (409) answers the first request's id, so a resumed worker learns it without sending again."""
        body = {"messages": messages, "recipient": {"type": "audience", "audienceGroupId": audience_group_id}}
        headers = {"Content-Type": "application/json", "Accept": "application/json", "X-Line-Retry-Key": retry_key}

        def send() -> str:
            try:
                answer = self._api_client.call_api(
                    "/v2/bot/message/narrowcast",
                    "POST",
                    header_params=headers,
                    body=body,
                    auth_settings=["Bearer"],
                    response_types_map={},
                    _request_timeout=self._timeout,
                )
            except ApiException as exc:
                accepted = (exc.headers or {}).get("X-Line-Accepted-Request-Id")
                if exc.status == 409 and accepted:
                    log.info("LINE already accepted narrowcast retry key %s", retry_key)
                    return str(accepted)
                raise
            # urllib3's headers: looked up regardless of case (LINE may send them lower-case)
            return str((answer.headers or {}).get("X-Line-Request-Id", ""))

        request_id = self._call(send)
        if not request_id:
            raise LineDeliveryError(202, "LINE accepted the narrowcast without a request id")
        return request_id

    def narrowcast_progress(self, request_id: str) -> dict[str, Any]:
        """Where a narrowcast stands: phase (waiting, sending, succeeded, failed), counts, errorCode."""
        query = [("requestId", request_id)]
        data, _ = self._call(lambda: self._json("GET", "/v2/bot/message/progress/narrowcast", query=query))
        return data

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

    # Rich menus (rich_menus/deploy.py). LINE has no update call: a changed menu is a new menu.
    def create_rich_menu(self, request: RichMenuRequest) -> str:
        """Create a rich menu (without its image yet); its id."""
        answer = self._call(lambda: self.api.create_rich_menu(request, _request_timeout=self._timeout))
        return str(answer.rich_menu_id)

    def upload_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str = "image/png") -> None:
        """Attach the menu's image (data host; once per menu, JPEG or PNG, at most 1 MB, the menu's pixel size)."""
        self._call(
            lambda: self.blob.set_rich_menu_image(
                rich_menu_id, bytearray(image), _headers={"Content-Type": content_type}, _request_timeout=self._timeout
            )
        )

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        """Delete a menu; LINE unlinks it from its users and drops the aliases pointing at it."""
        self._call(lambda: self.api.delete_rich_menu(rich_menu_id, _request_timeout=self._timeout))

    def list_rich_menus(self) -> dict[str, str]:
        """Every rich menu the bot made through the API: its name by its id."""
        answer = self._call(lambda: self.api.get_rich_menu_list(_request_timeout=self._timeout))
        return {str(menu.rich_menu_id): str(menu.name) for menu in answer.richmenus}

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        """The menu everyone without a per-user menu sees."""
        self._call(lambda: self.api.set_default_rich_menu(rich_menu_id, _request_timeout=self._timeout))

    def get_default_rich_menu(self) -> str | None:
        """The default menu's id, None when there is none."""
        try:
            answer = self._call(lambda: self.api.get_default_rich_menu_id(_request_timeout=self._timeout))
        except LineDeliveryError as exc:
            if exc.status == 404:
                return None
            raise
        return str(answer.rich_menu_id)

    def get_rich_menu_alias(self, alias_id: str) -> str | None:
        """The menu an alias points at, None when the alias does not exist."""
        try:
            answer = self._call(lambda: self.api.get_rich_menu_alias(alias_id, _request_timeout=self._timeout))
        except LineDeliveryError as exc:
            if exc.status == 404:
                return None
            raise
        return str(answer.rich_menu_id)

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        """A new alias (a `richmenuswitch` action's target); the menu must have its image."""
        request = CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id, rich_menu_id=rich_menu_id)
        self._call(lambda: self.api.create_rich_menu_alias(request, _request_timeout=self._timeout))

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        """Point an existing alias at another menu: phones switching tabs get the new menu at once."""
        request = UpdateRichMenuAliasRequest(rich_menu_id=rich_menu_id)
        self._call(lambda: self.api.update_rich_menu_alias(alias_id, request, _request_timeout=self._timeout))

    def bulk_link_rich_menu(self, user_ids: list[str], rich_menu_id: str) -> None:
        """Link one menu to up to 500 users (LINE answers 202 and links them in the background)."""
        if not 1 <= len(user_ids) <= MAX_BULK_LINK_USERS:
            raise ValueError(f"bulk link takes 1 to {MAX_BULK_LINK_USERS} users, not {len(user_ids)}")
        request = RichMenuBulkLinkRequest(rich_menu_id=rich_menu_id, user_ids=user_ids)
        self._call(lambda: self.api.link_rich_menu_id_to_users(request, _request_timeout=self._timeout))

    def _call(self, send: Callable[[], T]) -> T:
        try:
            self.breaker.before_call()
        except CircuitOpen:
            raise LineDeliveryError(0, "LINE is failing: circuit breaker open", reached_line=False) from None
        cause: BaseException
        try:
            answer = send()
        except ApiException as exc:
            cause, error = exc, LineDeliveryError(exc.status or 0, str(exc.body))
        except HTTPError as exc:
            cause = exc
            reason = exc.reason if isinstance(exc, MaxRetryError) and exc.reason is not None else exc
            if isinstance(reason, ConnectTimeoutError):  # no connection (refused or timed out): nothing was sent
                error = LineDeliveryError(0, f"LINE unreachable: {reason}", reached_line=False)
            else:  # the request may have reached LINE and been carried out
                error = LineDeliveryError(0, f"LINE's answer lost: {reason}", outcome_unknown=True)
        except BaseException:
            self.breaker.abandoned()
            raise
        else:
            self.breaker.succeeded()
            return answer
        # A 429 is LINE answering (one endpoint's rate limit, or the month's quota), not LINE failing: it must not
        # open the breaker and hold back every other call, replies included.
        if error.transient and error.status != 429:
            self.breaker.failed()
        else:
            self.breaker.succeeded()
        raise error from cause

    def _call_idempotent(self, send: Callable[[], object], retry_key: str) -> None:
        try:
            self._call(send)
        except LineDeliveryError as exc:
            if exc.status != 409:
                raise
            log.info("LINE already accepted retry key %s", retry_key)
