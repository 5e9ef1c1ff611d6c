"""Missions in the chat: 每日任務 / 任務 (`action=tasks`), a poll answer (`action=poll`) and an invite code a new
friend sends (「邀請碼 XXXXXX」)."""

from __future__ import annotations

from bot.chat import missions as chat
from bot.services.engagement.invites import claim_invite
from bot.services.engagement.mission_views import mission_views
from bot.services.engagement.polls import Answer, answer_poll
from bot.services.membership import members
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


def _small_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 9


@action("tasks")
def show_missions(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member gets the running missions with their progress; anyone else the invitation to join."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    views = mission_views(ctx.session, member, ctx.now, ctx.settings.tz)
    return chat.missions(ctx.language, views, brand=ctx.settings.brand_name, basic_id=ctx.settings.line_basic_id)


@action("poll")
def answer(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A poll option tapped: recorded once per member and period."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    mission, option = params.get("mission", ""), params.get("option", "")
    if not (_small_number(mission) and _small_number(option)):
        return chat.poll_answered(ctx.language, Answer.BAD_OPTION)
    outcome = answer_poll(ctx.session, member, int(mission), int(option), ctx.now, ctx.settings.tz)
    return chat.poll_answered(ctx.language, outcome)


@action("invite_code")
def claim(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A friend sent a member's invite code: noted when they are new, so the inviter is credited when they join."""
    assert ctx.line_user is not None
    result = claim_invite(ctx.session, ctx.line_user, params.get("code", ""), ctx.now)
    return chat.invite_claimed(ctx.language, result)
