"""The member barcode in the chat (the card itself is drawn by bot.chat.barcode)."""

from __future__ import annotations

from bot.chat.barcode import barcode_message
from bot.services.barcode import codes as barcode
from bot.services.membership import members
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("barcode")
def show_barcode(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member gets their barcode card; anyone else the invitation to join or bind."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None or ctx.line_user is None:
        return invitation_for(ctx)
    code = barcode.current_code(ctx.session, member, ctx.now)
    summary = members.summary(ctx.session, member)
    return barcode_message(ctx.language, ctx.settings, summary, code, ctx.line_user.line_user_id)
