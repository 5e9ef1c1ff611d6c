"""The local LINE platform: users act (follow, write, tap), and it posts signed webhooks to the bot."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.devline import events as ev
from bot.devline.state import PlatformState

WEBHOOK_TIMEOUT_SECONDS = 10
# A local webhook must not go through a proxy configured for the outside world.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Delivery:
    """What the bot's webhook answered: status 0 means unreachable, or queued when sent in the background."""

    status: int
    body: str
    event: dict[str, Any]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class DevLinePlatform(PlatformState):
    """A stand-in for the LINE platform in development and tests; see the package docstring."""

    def __init__(self, channel_secret: str, webhook_url: str, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(clock)
        self.channel_secret = channel_secret
        self.webhook_url = webhook_url
        self.bot_user_id = ev.bot_user_id(channel_secret)

    # What a user does in the LINE app
    def follow(
        self, user_id: str, unblocked: bool = False, mode: str = "active", *, background: bool = False
    ) -> Delivery:
        """The user adds the account as a friend (or unblocks it): a follow event."""
        self._set_friendship(user_id, "friend")
        return self._dispatch(self.build_event("follow", user_id, mode=mode, unblocked=unblocked), background)

    def unfollow(self, user_id: str, mode: str = "active", *, background: bool = False) -> Delivery:
        """The user blocks the account: an unfollow event (no reply token); nothing reaches them afterwards."""
        self._set_friendship(user_id, "blocked")
        return self._dispatch(self.build_event("unfollow", user_id, mode=mode), background)

    def send_text(self, user_id: str, text: str, mode: str = "active", *, background: bool = False) -> Delivery:
        """The user writes a text message: it shows in the chat and goes to the bot as a message event."""
        event = self.build_event("message", user_id, mode=mode, text=text)
        with self.lock:
            user = self.users.get(user_id)
            if user is not None:
                user.last_message_at = self.clock()
            self._append(user_id, "user", None, dict(event["message"]), event["message"]["id"])
            self.touch()
        return self._dispatch(event, background)

    def postback(
        self,
        user_id: str,
        data: str,
        params: dict[str, str] | None = None,
        mode: str = "active",
        *,
        display_text: str | None = None,
        background: bool = False,
    ) -> Delivery:
        """The user taps a postback action; its displayText, if any, shows in the chat as the user's words."""
        event = self.build_event("postback", user_id, mode=mode, data=data, params=params)
        if display_text:
            with self.lock:
                message = {"type": "text", "text": display_text}
                self._append(user_id, "user", None, message, ev.new_message_id())
                self.touch()
        return self._dispatch(event, background)

    def switch_rich_menu(
        self, user_id: str, alias_id: str, data: str, mode: str = "active", *, background: bool = False
    ) -> Delivery:
        """The user taps a richmenuswitch area: the phone shows the alias's menu by itself, then LINE tells the
        bot with a postback whose params are newRichMenuAliasId and status (SUCCESS, RICHMENU_ALIAS_ID_NOTFOUND
        or RICHMENU_NOTFOUND); a failed switch leaves the shown menu as it was."""
        with self.lock:
            menu_id = self.aliases.get(alias_id)
            menu = self.rich_menus.get(menu_id or "")
            if menu_id is None:
                status = "RICHMENU_ALIAS_ID_NOTFOUND"
            elif menu is None or menu["image"] is None:
                status = "RICHMENU_NOTFOUND"
            else:
                status = "SUCCESS"
                self.switched_menus[user_id] = menu_id
                self.touch()
        params = {"newRichMenuAliasId": alias_id, "status": status}
        return self._dispatch(self.build_event("postback", user_id, mode=mode, data=data, params=params), background)

    def account_link(self, user_id: str, nonce: str, result: str = "ok", *, background: bool = False) -> Delivery:
        """LINE reports an account-link attempt; a failed one carries no reply token."""
        event = self.build_event("accountLink", user_id, nonce=nonce, result=result)
        return self._dispatch(event, background)

    def _set_friendship(self, user_id: str, friendship: str) -> None:
        with self.lock:
            self.users[user_id].friendship = friendship
            self.switched_menus.pop(user_id, None)
            self.touch()

    # Webhook bodies
    def build_event(self, event_type: str, user_id: str, *, mode: str = "active", **fields: Any) -> dict[str, Any]:
        """A fresh webhook event (registering its reply token) without sending it.

        Fields: message -> text; follow -> unblocked; postback -> data, params; accountLink -> nonce, result.
        """
        now = self.clock()
        event = ev.base_event(event_type, user_id, _ms(now), mode)
        if ev.has_reply_token(event_type, fields):
            event["replyToken"] = ev.new_reply_token()
            self.register_reply_token(event["replyToken"], user_id, now)
        event.update(ev.event_content(event_type, fields))
        return event

    def signed_body(self, events: list[dict[str, Any]]) -> tuple[bytes, str]:
        """The exact webhook body bytes for these events, and their X-Line-Signature."""
        body = ev.encode_body(self.bot_user_id, events)
        return body, ev.sign(self.channel_secret, body)

    def deliver(
        self, events: list[dict[str, Any]], *, redelivery: bool = False, signature: str | None = None
    ) -> Delivery:
        """Post the events, signed (or with the given signature), to the bot's webhook and return its answer."""
        if redelivery:
            events = [ev.as_redelivered(event) for event in events]
            for event in events:
                if "replyToken" in event:
                    self.refresh_reply_token(event["replyToken"])
        body, good_signature = self.signed_body(events)
        status, text = self._post(body, good_signature if signature is None else signature)
        with self.lock:
            self.deliveries.append(
                {
                    "status": status,
                    "body": text[:500],
                    "types": [event.get("type") for event in events],
                    "redelivery": redelivery,
                    "at": self.clock().isoformat(),
                }
            )
            self.touch()
        return Delivery(status, text, events[0] if events else {})

    def _dispatch(self, event: dict[str, Any], background: bool) -> Delivery:
        if not background:
            return self.deliver([event])
        # The chat page must answer at once; the webhook's outcome lands in `deliveries`.
        threading.Thread(target=self.deliver, args=([event],), name="devline-webhook", daemon=True).start()
        return Delivery(0, "queued", event)

    def _post(self, body: bytes, signature: str) -> tuple[int, str]:
        request = urllib.request.Request(
            self.webhook_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "X-Line-Signature": signature,
                "User-Agent": "LineBotWebhook/2.0",
            },
        )
        try:
            with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                return int(response.status), response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode("utf-8", "replace")
        except OSError as exc:
            return 0, f"webhook unreachable: {exc}"
