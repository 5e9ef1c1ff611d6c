"""Membership in the chat: join or bind, the profile card, counter bind codes, unbinding and leaving."""

from __future__ import annotations

import logging

from bot.chat import membership as member_messages
from bot.chat.base import text
from bot.chat.refusals import refusal_text
from bot.i18n import _
from bot.links import bind_start_url, join_url
from bot.services.membership import bind_codes, binding, erasure, members
from bot.services.refusals import Refused
from handlers.context import HandlerContext, Replies
from handlers.routing import action
from models import Member

log = logging.getLogger(__name__)


def _profile(ctx: HandlerContext, member: Member) -> Replies:
    return member_messages.profile(ctx.language, ctx.settings.brand_name, members.summary(ctx.session, member))


def invitation_for(ctx: HandlerContext) -> Replies:
    """For a LINE user who is not a member: the join page, the account-link bind page and the counter code."""
    assert ctx.line_user is not None
    user_id = ctx.line_user.line_user_id
    return member_messages.invitation(
        ctx.language, ctx.settings.brand_name, join_url(ctx.settings, user_id), bind_start_url(ctx.settings, user_id)
    )


@action("bind")
def join_or_bind(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is not None:
        return [*text(_("您已經是會員了！", ctx.language)), *_profile(ctx, member)]
    return invitation_for(ctx)


@action("profile")
def show_profile(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    return _profile(ctx, member)


@action("bind_code")
def bind_with_counter_code(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    assert ctx.line_user is not None
    try:
        member = bind_codes.redeem_bind_code(
            ctx.session, params.get("code", ""), ctx.line_user, ctx.now, limiter=ctx.limiter
        )
    except Refused as refused:
        return text(refusal_text(refused, ctx.language))
    welcome = _(
        "綁定成功！歡迎 {name}，會員編號 {number}。", ctx.language, name=member.name or "", number=member.member_number
    )
    return [*text(welcome), *_profile(ctx, member)]


@action("unbind")
def unbind(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return text(_("您的 LINE 帳號尚未綁定會員。", ctx.language))
    if params.get("confirm") != "yes":
        question = _(
            "確定要解除 LINE 與會員 {number} 的綁定嗎？點數與會員資料會保留，之後可以重新綁定。",
            ctx.language,
            number=member.member_number,
        )
        return member_messages.confirm(ctx.language, question, _("確定解除", ctx.language), "action=unbind&confirm=yes")
    binding.unbind(ctx.session, member, channel="chat", at=ctx.now)
    return text(_("已解除綁定。您的點數與會員資料仍保留，隨時可以重新綁定。", ctx.language))


@action("erase")
def erase_personal_data(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return text(_("您的 LINE 帳號尚未綁定會員。", ctx.language))
    if params.get("confirm") != "yes":
        question = _(
            "刪除後，您的姓名、手機與生日將被永久刪除，LINE 綁定也會解除。確定要刪除個人資料嗎？",
            ctx.language,
        )
        return member_messages.confirm(ctx.language, question, _("確定刪除", ctx.language), "action=erase&confirm=yes")
    try:
        erasure.request_erasure(ctx.session, member, "chat", ctx.now)
    except Refused as refused:
        return text(refusal_text(refused, ctx.language))
    return text(_("已刪除您的個人資料並解除綁定。謝謝您曾經是我們的會員。", ctx.language))
