"""The `accountLink` event: LINE reports the end of its account-link dialog; the nonce names the member to bind."""

from __future__ import annotations

import logging

from linebot.v3.webhooks import AccountLinkEvent

from bot.chat.membership import account_link_refused, account_linked
from bot.chat.refusals import refusal_text
from bot.services.membership.account_link import complete_account_link
from bot.services.refusals import Refused
from handlers.context import HandlerContext, Replies
from handlers.events import event_time

log = logging.getLogger(__name__)


def on_account_link(ctx: HandlerContext, event: AccountLinkEvent) -> Replies:
    """Bind on a good nonce; any failure or refusal is explained in the chat and changes nothing."""
    user_id = getattr(event.source, "user_id", None)
    if not user_id:
        log.warning("an accountLink event without a user id was ignored")
        return []
    try:
        member = complete_account_link(ctx.session, user_id, event.link.nonce, event.link.result, event_time(event))
    except Refused as refused:
        log.info("account link refused: %s", refused.reason)
        return account_link_refused(ctx.language, refusal_text(refused, ctx.language))
    return account_linked(ctx.language, member.member_number)
