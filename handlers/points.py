"""Points in the chat (the card itself is drawn by bot.chat.points)."""

from __future__ import annotations

from bot.chat.points import points_message
from bot.services.membership import members
from bot.services.rewards.points_view import points_view
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("points")
def show_points(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member gets their points card; anyone else the invitation to join or bind."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    return points_message(ctx.language, points_view(ctx.session, member, ctx.now, ctx.settings.tz))
