"""One function per LINE event type: turn the event into a service call and the replies to send."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from bot.chat import base as messages
from bot.i18n import language_for
from bot.services.membership import line_users
from handlers.context import HandlerContext, Replies, is_member
from handlers.routing import ACTIONS, action_for_text, parse_postback

log = logging.getLogger(__name__)


def event_time(event: Event) -> datetime:
    return datetime.fromtimestamp(event.timestamp / 1000, tz=UTC)


def on_follow(ctx: HandlerContext, event: FollowEvent) -> Replies:
    user_id = event.source.user_id
    profile = ctx.profile  # fetched before the transaction began (None when LINE did not give it)
    name = profile.display_name if profile else None
    picture = profile.picture_url if profile else None
    language = profile.language if profile else None
    user, returning = line_users.record_follow(
        ctx.session, user_id, at=event_time(event), display_name=name, picture_url=picture, language=language
    )
    ctx.line_user = user
    ctx.language = language_for(user.language)
    returning = returning or bool(event.follow.is_unblocked)
    return messages.welcome(ctx.language, ctx.settings.brand_name, user.display_name, returning)


def on_unfollow(ctx: HandlerContext, event: UnfollowEvent) -> Replies:
    line_users.record_unfollow(ctx.session, event.source.user_id, at=event_time(event))
    return []


def on_text(ctx: HandlerContext, event: MessageEvent) -> Replies:
    if not isinstance(event.message, TextMessageContent):
        return messages.not_understood(ctx.language, ctx.settings.brand_name, is_member(ctx))
    found = action_for_text(event.message.text)
    if found is None:
        return messages.not_understood(ctx.language, ctx.settings.brand_name, is_member(ctx))
    name, params = found
    handler = ACTIONS.get(name)
    if handler is None:
        return messages.not_understood(ctx.language, ctx.settings.brand_name, is_member(ctx))
    return handler(ctx, params)


def on_postback(ctx: HandlerContext, event: PostbackEvent) -> Replies:
    name, params = parse_postback(event.postback.data)
    handler = ACTIONS.get(name or "")
    if handler is None:
        log.info("unknown postback action %r", name)
        return messages.not_understood(ctx.language, ctx.settings.brand_name, is_member(ctx))
    return handler(ctx, params)
