"""What the local LINE platform remembers: users and their chats, tokens, retry keys and rich menus."""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.devline import events as ev
from bot.devline.errors import INVALID_REPLY_TOKEN, RATE_LIMITED, LineApiError, injected_failure

REPLY_TOKEN_TTL = timedelta(seconds=60)
REDELIVERED_REPLY_LIMIT = timedelta(minutes=20)
LINK_TOKEN_TTL = timedelta(minutes=10)
RETRY_KEY_TTL = timedelta(hours=24)
NON_FRIEND_WINDOW = timedelta(days=7)
USER_ID_PATTERN = re.compile(r"^U[0-9a-f]{32}$")
# Message types whose sentMessages entry carries a quoteToken (they can be quoted).
QUOTABLE_TYPES = frozenset({"text", "textV2", "sticker", "image", "video"})
# LINE's rate limits per channel and endpoint: (requests, seconds). Over them a call is answered 429 and not carried
# out. Tests and benches change them with `set_rate_limit`.
RATE_LIMITS = {"multicast": (200, 1.0), "narrowcast": (60, 3600.0), "broadcast": (60, 3600.0)}
# LINE does not narrowcast to an audience of fewer users than this: the request is accepted, then fails.
MIN_NARROWCAST_AUDIENCE = 50
AUDIENCE_TOO_SMALL = 4  # the progress's errorCode for it


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class DevUser:
    """A LINE user played by a developer or a test; friendship is none, friend or blocked."""

    user_id: str
    display_name: str
    language: str
    picture_url: str | None
    status_message: str | None = None
    friendship: str = "none"
    last_message_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "displayName": self.display_name,
            "language": self.language,
            "pictureUrl": self.picture_url,
            "friendship": self.friendship,
        }


class PlatformState:
    """In-memory, thread-safe state; every read and write holds `lock`, never while calling out."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock: Callable[[], datetime] = clock or utcnow
        self.lock = threading.Lock()
        self.quota_limit = 10_000
        self.users: dict[str, DevUser] = {}
        self.chats: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.reply_tokens: dict[str, dict[str, Any]] = {}
        self.link_tokens: dict[str, dict[str, Any]] = {}
        self.accepted_retry_keys: dict[str, dict[str, Any]] = {}
        self.narrowcasts: dict[str, dict[str, Any]] = {}
        self.audience_groups: dict[int, dict[str, Any]] = {}
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.default_rich_menu_id: str | None = None
        self.user_rich_menus: dict[str, str] = {}
        self.aliases: dict[str, str] = {}
        self.switched_menus: dict[str, str] = {}
        self.total_usage = 0
        self.version = 0
        self._failures: list[list[Any]] = []
        self.rate_limits: dict[str, tuple[int, float]] = dict(RATE_LIMITS)
        self._arrivals: dict[str, deque[float]] = {}
        self.rate_limited = 0

    def reset(self) -> None:
        """Forget everything: users, chats, logs, tokens, retry keys, rich menus."""
        with self.lock:
            for container in (
                self.users, self.chats, self.requests, self.deliveries, self.reply_tokens, self.link_tokens,
                self.accepted_retry_keys, self.narrowcasts, self.audience_groups, self.rich_menus,
                self.user_rich_menus, self.aliases, self.switched_menus, self._failures, self._arrivals,
            ):  # fmt: skip
                container.clear()
            self.default_rich_menu_id = None
            self.total_usage = 0
            self.rate_limited = 0
            self.touch()

    def touch(self) -> None:
        """Bump the version the chat page polls, after any change (call with `lock` held)."""
        self.version += 1

    # Users
    def create_user(
        self, display_name: str, language: str = "zh-TW", picture_url: str | None = None, *, friend: bool = False
    ) -> str:
        """A new LINE user ("U" + 32 hex); `friend=True` starts them as a friend without a follow event."""
        user_id = "U" + secrets.token_hex(16)
        with self.lock:
            self.users[user_id] = DevUser(
                user_id, display_name, language, picture_url, friendship="friend" if friend else "none"
            )
            self.chats[user_id] = []
            self.touch()
        return user_id

    def profile(self, user_id: str) -> dict[str, Any] | None:
        """The profile LINE shows the bot: friends, and non-friends who wrote; never users who blocked."""
        with self.lock:
            user = self.users.get(user_id)
            if user is None or user.friendship == "blocked":
                return None
            if user.friendship == "none" and user.last_message_at is None:
                return None
            profile: dict[str, Any] = {"userId": user.user_id, "displayName": user.display_name}
            for key, value in (
                ("pictureUrl", user.picture_url),
                ("language", user.language),
                ("statusMessage", user.status_message),
            ):
                if value:
                    profile[key] = value
            return profile

    def _reachable(self, user_id: str, via: str) -> bool:
        # LINE answers 200 but delivers nothing to users who blocked the account or never added it
        # (unless they wrote in the last 7 days); a reply reaches anyone who has not blocked.
        user = self.users.get(user_id)
        if user is None or user.friendship == "blocked":
            return False
        if via == "reply" or user.friendship == "friend":
            return True
        return user.last_message_at is not None and self.clock() - user.last_message_at <= NON_FRIEND_WINDOW

    # Chats
    def _append(self, user_id: str, sender: str, via: str | None, message: dict[str, Any], msg_id: str) -> None:
        self.chats.setdefault(user_id, []).append(
            {"from": sender, "via": via, "message": message, "at": self.clock().isoformat(), "messageId": msg_id}
        )

    def chat(self, user_id: str) -> list[dict[str, Any]]:
        """The user's chat log, oldest first: {"from", "via", "message", "at", "messageId"}."""
        with self.lock:
            return copy.deepcopy(self.chats.get(user_id, []))

    def bot_messages(self, user_id: str) -> list[dict[str, Any]]:
        """The message objects the bot got delivered to this user, in order, as LINE received them."""
        return [entry["message"] for entry in self.chat(user_id) if entry["from"] == "bot"]

    # Sending
    def send(
        self,
        via: str,
        messages: list[dict[str, Any]],
        *,
        request_id: str,
        to: list[str] | None = None,
        reply_token: str | None = None,
        retry_key: str | None = None,
        audience_group_id: int | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Accept one Messaging API send as LINE does: (status, body, headers), or raise LineApiError. A narrowcast
        to an audience (`audience_group_id`) reaches its users who are friends; under 50 users it fails, unsent."""
        with self.lock:
            now = self.clock()
            accepted = self.accepted_retry_keys.get(retry_key or "")
            if accepted and now - accepted["at"] <= RETRY_KEY_TTL:
                extra = {"sentMessages": accepted["sentMessages"]} if via == "push" else {}
                raise LineApiError(
                    409,
                    "The retry key is already accepted",
                    extra=extra,
                    headers={"X-Line-Accepted-Request-Id": accepted["request_id"]},
                )
            if audience_group_id is not None:
                group = self.audience_groups.get(audience_group_id)
                if group is None:
                    raise LineApiError(400, "The audience group does not exist")
                known = [user_id for user_id in group["ids"] if user_id in self.users]
                if len(known) < MIN_NARROWCAST_AUDIENCE:
                    return self._failed_narrowcast(now, request_id, retry_key, len(known))
                recipients = [user_id for user_id in known if self.users[user_id].friendship == "friend"]
            else:
                recipients = self._recipients(via, to, reply_token, now)
            reached = [user_id for user_id in recipients if self._reachable(user_id, via)]
            if via != "reply" and self.total_usage + len(reached) > self.quota_limit:
                raise LineApiError(429, "You have reached your monthly limit.")
            sent = []
            for message in messages:
                entry = {"id": ev.new_message_id()}
                if message.get("type") in QUOTABLE_TYPES:
                    entry["quoteToken"] = ev.new_quote_token()
                sent.append(entry)
                for user_id in reached:
                    self._append(user_id, "bot", via, copy.deepcopy(message), entry["id"])
            if via != "reply":
                self.total_usage += len(reached)
            if retry_key:
                self.accepted_retry_keys[retry_key] = {"at": now, "request_id": request_id, "sentMessages": sent}
            if via == "narrowcast":
                stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                self.narrowcasts[request_id] = {
                    "phase": "succeeded",
                    "successCount": len(reached),
                    "failureCount": 0,
                    "targetCount": len(reached),
                    "acceptedTime": stamp,
                    "completedTime": stamp,
                }
            self.touch()
        body: dict[str, Any] = {"sentMessages": sent} if via in ("reply", "push") else {}
        return (202 if via == "narrowcast" else 200), body, {}

    def _failed_narrowcast(
        self, now: datetime, request_id: str, retry_key: str | None, audience_count: int
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        # Accepted (202, its retry key spent) but never sent: LINE reports the failure only in its progress.
        if retry_key:
            self.accepted_retry_keys[retry_key] = {"at": now, "request_id": request_id, "sentMessages": []}
        stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.narrowcasts[request_id] = {
            "phase": "failed",
            "successCount": 0,
            "failureCount": 0,
            "targetCount": 0,
            "failedDescription": f"The audience has {audience_count} users; at least {MIN_NARROWCAST_AUDIENCE} needed",
            "errorCode": AUDIENCE_TOO_SMALL,
            "acceptedTime": stamp,
            "completedTime": stamp,
        }
        self.touch()
        return 202, {}, {}

    # Audiences
    def create_audience(self, description: str, user_ids: list[str]) -> dict[str, Any]:
        """A new audience for uploading user IDs: LINE's answer to the upload."""
        with self.lock:
            group_id = max(self.audience_groups, default=4_000_000_000) + 1
            created = int(self.clock().timestamp())
            self.audience_groups[group_id] = {"description": description, "created": created, "ids": set(user_ids)}
            self.touch()
        return {
            "audienceGroupId": group_id,
            "createRoute": "MESSAGING_API",
            "type": "UPLOAD",
            "description": description,
            "created": created,
            "permission": "READ_WRITE",
            "expireTimestamp": created + 180 * 86400,
            "isIfaAudience": False,
        }

    def add_to_audience(self, group_id: int, user_ids: list[str]) -> bool:
        """Add user IDs to an uploaded audience (a set: an ID added twice counts once); False when unknown."""
        with self.lock:
            group = self.audience_groups.get(group_id)
            if group is None:
                return False
            group["ids"].update(user_ids)
            self.touch()
            return True

    def audience(self, group_id: int) -> dict[str, Any] | None:
        """LINE's answer to reading an audience: its count is of the user IDs LINE knows."""
        with self.lock:
            group = self.audience_groups.get(group_id)
            if group is None:
                return None
            count = sum(1 for user_id in group["ids"] if user_id in self.users)
            return {
                "audienceGroup": {
                    "audienceGroupId": group_id,
                    "type": "UPLOAD",
                    "description": group["description"],
                    "status": "READY",
                    "audienceCount": count,
                    "created": group["created"],
                    "permission": "READ_WRITE",
                    "createRoute": "MESSAGING_API",
                    "isIfaAudience": False,
                },
                "jobs": [],
            }

    def _recipients(self, via: str, to: list[str] | None, reply_token: str | None, now: datetime) -> list[str]:
        if via == "reply":
            token = self.reply_tokens.get(reply_token or "")
            if token is None or token["used"] or now - token["issued_at"] > REPLY_TOKEN_TTL:
                raise LineApiError(400, INVALID_REPLY_TOKEN)
            token["used"] = True
            return [token["user_id"]]
        if via == "push":
            target = (to or [""])[0]
            if not USER_ID_PATTERN.match(target):
                raise LineApiError(400, "The property, 'to', in the request body is invalid (line: -, column: -)")
            if target not in self.users:
                raise LineApiError(400, "Failed to send messages")
            return [target]
        if via == "multicast":
            for index, user_id in enumerate(to or []):
                if not USER_ID_PATTERN.match(str(user_id)):
                    raise LineApiError(
                        400, f"The property, 'to[{index}]', in the request body is invalid (line: -, column: -)"
                    )
            return list(dict.fromkeys(to or []))
        return [user.user_id for user in self.users.values() if user.friendship == "friend"]

    # Reply tokens and link tokens
    def register_reply_token(self, token: str, user_id: str, event_at: datetime) -> None:
        with self.lock:
            self.reply_tokens[token] = {"user_id": user_id, "event_at": event_at, "issued_at": event_at, "used": False}

    def refresh_reply_token(self, token: str) -> None:
        """A redelivered webhook's reply token works for another minute, unless used or 20 min have passed."""
        with self.lock:
            now, entry = self.clock(), self.reply_tokens.get(token)
            if entry and not entry["used"] and now - entry["event_at"] <= REDELIVERED_REPLY_LIMIT:
                entry["issued_at"] = now

    def issue_link_token(self, user_id: str) -> str:
        """A single-use account-link token, valid for 10 minutes."""
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.link_tokens[token] = {"user_id": user_id, "issued_at": self.clock(), "used": False}
        return token

    def consume_link_token(self, token: str) -> str | None:
        """The user id the token was issued for, once, within 10 minutes; None otherwise."""
        with self.lock:
            entry = self.link_tokens.get(token)
            if entry is None or entry["used"] or self.clock() - entry["issued_at"] > LINK_TOKEN_TTL:
                return None
            entry["used"] = True
            return str(entry["user_id"])

    # Failure injection and the request log
    def fail_next(self, path: str, status: int, times: int = 1) -> None:
        """Make the next `times` calls whose path ends with `path` answer `status` with a LINE-style body."""
        with self.lock:
            self._failures.append([path, status, times])

    def take_failure(self, path: str) -> LineApiError | None:
        with self.lock:
            for failure in self._failures:
                suffix, status, remaining = failure
                if remaining > 0 and path.endswith(suffix):
                    failure[2] = remaining - 1
                    return injected_failure(status)
            return None

    def set_rate_limit(self, endpoint: str, requests: int, seconds: float = 1.0) -> None:
        """Allow at most `requests` calls of `endpoint` (e.g. "multicast") in any `seconds` (a moving window)."""
        with self.lock:
            self.rate_limits[endpoint] = (requests, seconds)
            self._arrivals.pop(endpoint, None)

    def take_rate(self, endpoint: str) -> None:
        """Count one call of `endpoint` against its rate limit; LINE's 429 (nothing carried out) when over it. Counted
        on the wall clock, not the platform's (tests stop that one)."""
        limit = self.rate_limits.get(endpoint)
        if limit is None:
            return
        requests, seconds = limit
        now = time.monotonic()
        with self.lock:
            arrivals = self._arrivals.setdefault(endpoint, deque())
            while arrivals and arrivals[0] <= now - seconds:
                arrivals.popleft()
            if len(arrivals) >= requests:
                self.rate_limited += 1
                raise LineApiError(429, RATE_LIMITED)
            arrivals.append(now)

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
            self.touch()

    # Rich menus
    def rich_menu_for(self, user_id: str) -> str | None:
        """The rich menu id LINE shows this user: their own link wins over the default."""
        with self.lock:
            return self.user_rich_menus.get(user_id) or self.default_rich_menu_id

    def displayed_rich_menu(self, user_id: str) -> str | None:
        """What the phone shows: a tab switched to with a richmenuswitch action, else rich_menu_for."""
        return self.displayed_rich_menu_and_source(user_id)[0]

    def displayed_rich_menu_and_source(self, user_id: str) -> tuple[str | None, str | None]:
        """The menu the phone shows and why: "switched" (a richmenuswitch tab), "user" (linked), "default"."""
        with self.lock:
            switched = self.switched_menus.get(user_id)
            if switched in self.rich_menus:
                return switched, "switched"
            if user_id in self.user_rich_menus:
                return self.user_rich_menus[user_id], "user"
            if self.default_rich_menu_id is not None:
                return self.default_rich_menu_id, "default"
            return None, None
