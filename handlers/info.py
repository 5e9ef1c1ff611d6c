"""最新活動 and 門市資訊: what the brand tells anyone, member or not."""

from __future__ import annotations

from bot.chat.info import programme_message, store_directory_message
from bot.services.membership import members
from bot.services.rewards.programme import programme
from bot.services.staff.stores import store_directory
from handlers.context import HandlerContext, Replies
from handlers.routing import action


@action("news")
def show_news(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    is_member = members.member_of(ctx.session, ctx.line_user) is not None
    return programme_message(ctx.language, ctx.settings.brand_name, programme(ctx.session), is_member)


@action("stores")
def show_stores(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    return store_directory_message(ctx.language, store_directory(ctx.session))
