"""A shopper sends a clerk's referral code (the landing page types 「推薦碼 XXXX-XXXX」 into the chat)."""

from __future__ import annotations

from bot.chat import referrals as messages
from bot.services.membership.members import member_of
from bot.services.staff.referrals import Touch, record_touch
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.routing import action


@action("referral_code")
def referral_code(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    assert ctx.line_user is not None
    result = record_touch(ctx.session, ctx.line_user, params.get("code", ""), ctx.now)
    brand = ctx.settings.brand_name
    if result.outcome is Touch.MEMBER:
        return messages.thanks_member(ctx.language, brand)
    if result.outcome is Touch.UNKNOWN_CODE:
        if member_of(ctx.session, ctx.line_user) is not None:
            return messages.unknown_code(ctx.language)
        return [*messages.unknown_code(ctx.language), *invitation_for(ctx)]
    assert result.staff_name is not None and result.store_name is not None
    return [*messages.thanks_guest(ctx.language, brand, result.staff_name, result.store_name), *invitation_for(ctx)]
