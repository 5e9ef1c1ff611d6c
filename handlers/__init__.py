"""LINE event handlers: each turns one event into a service call and a reply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linebot.v3.webhooks import AccountLinkEvent, Event, FollowEvent, MessageEvent, PostbackEvent, UnfollowEvent

from handlers import actions as _actions  # noqa: F401  (registers the action handlers)
from handlers import barcode as _barcode  # noqa: F401
from handlers import carrier as _carrier  # noqa: F401
from handlers import checkin as _checkin  # noqa: F401
from handlers import coupons as _coupons  # noqa: F401
from handlers import games as _games  # noqa: F401
from handlers import info as _info  # noqa: F401
from handlers import membership as _membership  # noqa: F401
from handlers import missions as _missions  # noqa: F401
from handlers import points as _points  # noqa: F401
from handlers import referrals as _referrals  # noqa: F401
from handlers import rich_menu as _rich_menu  # noqa: F401
from handlers import stamps as _stamps  # noqa: F401
from handlers.account_link import on_account_link
from handlers.context import HandlerContext, Replies
from handlers.events import on_follow, on_postback, on_text, on_unfollow

EVENT_HANDLERS: dict[type[Event], Callable[[HandlerContext, Any], Replies]] = {
    FollowEvent: on_follow,
    UnfollowEvent: on_unfollow,
    MessageEvent: on_text,
    PostbackEvent: on_postback,
    AccountLinkEvent: on_account_link,
}


def handle(ctx: HandlerContext, event: Event) -> Replies:
    """Run the handler for this event type; event types the bot has no use for get no reply."""
    handler = EVENT_HANDLERS.get(type(event))
    if handler is None:
        return []
    return handler(ctx, event)


__all__ = ["EVENT_HANDLERS", "HandlerContext", "Replies", "handle"]
