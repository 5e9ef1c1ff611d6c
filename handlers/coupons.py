"""Coupons in the chat: the member's usable coupons, and one coupon's barcode to show at the till.

The barcode image sits behind a signed link (bot.links.coupon_image_url); the code is also sent as text, so a clerk
can type it when the image does not load.
"""

from __future__ import annotations

from bot.chat import coupons as chat
from bot.chat.base import text
from bot.chat.refusals import refusal_text
from bot.links import coupon_image_url
from bot.services.membership import members
from bot.services.refusals import Refused
from bot.services.rewards.coupons import find_coupon, template_of, usable_coupons, why_not_usable
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("coupons")
def show_coupons(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    usable = usable_coupons(ctx.session, member.id, ctx.now)
    return chat.coupon_carousel(ctx.language, ctx.settings.tz, [(c, template_of(ctx.session, c)) for c in usable])


@action("coupon")
def show_coupon_code(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """The coupon's Code 128 image and its code as text, for the clerk to scan or type."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    coupon = find_coupon(ctx.session, params.get("code", ""))
    if coupon is None or coupon.member_id != member.id:
        return chat.coupon_not_found(ctx.language)
    reason = why_not_usable(coupon, ctx.now)
    if reason is not None:
        return text(refusal_text(Refused(reason), ctx.language))
    image = coupon_image_url(ctx.settings, coupon.code)
    return chat.coupon_code(ctx.language, ctx.settings.tz, coupon, template_of(ctx.session, coupon), image)
