"""The `accountLink` event: LINE reports the end of its account-link dialog; the nonce names the member to bind."""

from __future__ import annotations

import logging

from linebot.v3.messaging import Message, TextMessage
from linebot.v3.webhooks import AccountLinkEvent

from bot.chat.base import quick_menu
from bot.chat.refusals import refusal_text
from bot.i18n import _
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
        return refused_message(ctx.language, refusal_text(refused, ctx.language))
    return linked_message(ctx.language, member.member_number)


def linked_message(language: str, member_number: str) -> list[Message]:
    """The confirmation after LINE's dialog bound the shopper's membership."""
    text = _("LINE 帳號已與會員綁定完成！會員編號：{number}", language, number=member_number)
    return [TextMessage(text=text, quickReply=quick_menu(language))]


def refused_message(language: str, why: str) -> list[Message]:
    """Why the account link did not bind (`why`, in `language`), and what to do next."""
    text = why + "\n" + _("如需協助，請輸入「綁定會員」重新開始，或洽門市人員。", language)
    return [TextMessage(text=text)]
