"""The daily check-in in the chat: 簽到 checks in (once a day), 「簽到提醒 開／關」 switches the evening reminder."""

from __future__ import annotations

from bot.chat import checkin as chat
from bot.chat.base import text
from bot.chat.refusals import refusal_text
from bot.services.engagement.checkin_config import checkin_settings
from bot.services.engagement.checkins import check_in
from bot.services.engagement.reminders import set_reminders
from bot.services.membership import members
from bot.services.refusals import Refused
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("checkin")
def daily_checkin(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member checks in for today and sees the week; a guest is invited to join."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    try:
        view = check_in(ctx.session, member, ctx.now, ctx.settings.tz)
    except Refused as refused:  # check-ins switched off
        return text(refusal_text(refused, ctx.language))
    return chat.checkin_messages(ctx.language, view)


@action("checkin_reminder")
def switch_reminder(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """「簽到提醒 開」 / 「簽到提醒 關」."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    enabled = params.get("switch", "").lower() in ("開", "on")
    set_reminders(ctx.session, member, enabled, ctx.now)
    return chat.reminders_switched(ctx.language, enabled, checkin_settings(ctx.session).reminder_time)
