"""Stamp cards in the chat (the cards themselves are drawn by bot.chat.stamps)."""

from __future__ import annotations

from bot.chat import stamps as chat
from bot.services.membership import members
from bot.services.rewards.stamp_views import card_views, how_to_earn
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("stamps")
def show_stamp_cards(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member gets their open cards as a carousel (or how to earn, with none yet); anyone else the invitation."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    views = card_views(ctx.session, member.id, ctx.now, ctx.settings.tz)
    return chat.stamp_cards(ctx.language, views, [] if views else how_to_earn(ctx.session))
