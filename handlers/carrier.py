"""The e-invoice mobile barcode carrier (手機條碼) in the chat: `載具` shows it, `載具 /ABC1234` saves or changes it,
`刪除載具` removes it. Only a member has one; anyone else is invited to join or bind."""

from __future__ import annotations

from bot.chat.carrier import carrier_message, carrier_refused, carrier_removed
from bot.chat.refusals import refusal_text
from bot.services.membership import carrier, members
from bot.services.refusals import Refused
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("carrier")
def show_carrier(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None or ctx.line_user is None:
        return invitation_for(ctx)
    return carrier_message(ctx.language, ctx.settings, carrier.carrier_of(member), ctx.line_user.line_user_id)


@action("carrier_set")
def save_carrier(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None or ctx.line_user is None:
        return invitation_for(ctx)
    try:
        saved = carrier.set_carrier(ctx.session, member, params.get("carrier", ""))
    except Refused as refused:
        return carrier_refused(ctx.language, refusal_text(refused, ctx.language))
    return carrier_message(ctx.language, ctx.settings, saved, ctx.line_user.line_user_id, saved=True)


@action("carrier_remove")
def remove_carrier(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    return carrier_removed(ctx.language, carrier.remove_carrier(ctx.session, member))
