"""The lucky draw (抽獎) and the scratch card (刮刮樂) in the chat. The server decides and records each play before
the reply is written; a scratch card's page only reveals what was decided."""

from __future__ import annotations

from bot.chat import games as chat
from bot.chat.base import text
from bot.chat.refusals import refusal_text
from bot.links import scratch_url
from bot.services.engagement.checkins import local_day
from bot.services.engagement.games import active_game, last_play_today, play, plays_left, result_of
from bot.services.membership import members
from bot.services.refusals import Reason, Refused
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("draw")
def lucky_draw(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member plays the lucky draw once (if a play is left) and sees the result and the plays left."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    try:
        result = play(ctx.session, member, "draw", ctx.now, ctx.settings.tz)
    except Refused as refused:
        return text(refusal_text(refused, ctx.language))
    return chat.draw_result(ctx.language, result)


@action("scratch")
def scratch_card(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member with a scratch card left today gets a new one (decided now) to scratch on its page; without one,
    today's card again (the same result)."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    assert ctx.line_user is not None
    day = local_day(ctx.now, ctx.settings.tz)
    game = active_game(ctx.session, "scratch", day)
    if game is None:
        return text(refusal_text(Refused(Reason.GAME_NOT_RUNNING), ctx.language))
    if plays_left(ctx.session, member.id, game, day).total == 0:
        earlier = last_play_today(ctx.session, member.id, "scratch", ctx.now, ctx.settings.tz)
        if earlier is None:
            return text(refusal_text(Refused(Reason.NO_PLAYS_LEFT), ctx.language))
        result = result_of(ctx.session, earlier, ctx.settings.tz)
        url = scratch_url(ctx.settings, ctx.line_user.line_user_id, earlier.id)
        return chat.scratch_card(ctx.language, result.game.name, url, already_played=True, left=result.plays_left)
    try:
        result = play(ctx.session, member, "scratch", ctx.now, ctx.settings.tz)
    except Refused as refused:
        return text(refusal_text(refused, ctx.language))
    url = scratch_url(ctx.settings, ctx.line_user.line_user_id, result.play.id)
    return chat.scratch_card(ctx.language, result.game.name, url, already_played=False, left=result.plays_left)
