"""The e-invoice mobile barcode carrier (手機條碼) in the chat: what is saved, how to set, change or remove it."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import Message, QuickReply, TextMessage

from bot.chat.base import BRAND_GREEN, GREY, flex, postback_button, uri_button
from bot.i18n import _
from bot.links import card_url, carrier_image_url
from bot.settings import Settings

# The example /ABC1234 is no one's carrier.
NOT_SET = "您還沒有設定手機條碼載具。請輸入「載具 /ABC1234」（把 /ABC1234 換成您的手機條碼）即可設定。"


def _remove_reply(language: str) -> QuickReply:
    label = _("刪除載具", language)
    return QuickReply.from_dict(
        {
            "items": [
                {
                    "type": "action",
                    "action": {"type": "postback", "label": label[:20], "data": "action=carrier_remove"},
                }
            ]
        }
    )


def carrier_card(language: str, settings: Settings, carrier: str, line_user_id: str) -> dict[str, Any]:
    """The Flex bubble: the carrier as Code 39 and as text, where it shows at the counter, change and remove."""
    return {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": _("手機條碼載具", language), "color": "#FFFFFF", "weight": "bold"},
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "image",
                    "url": carrier_image_url(settings, carrier),
                    "size": "full",
                    "aspectMode": "fit",
                    "aspectRatio": "4:1",
                    "backgroundColor": "#FFFFFF",
                },
                {"type": "text", "text": carrier, "size": "xl", "weight": "bold", "align": "center"},
                {
                    "type": "text",
                    "text": _("結帳時打開會員條碼，載具條碼就在會員條碼下方，請店員掃描存入發票。", language),
                    "size": "sm",
                    "color": GREY,
                    "wrap": True,
                },
                {
                    "type": "text",
                    "text": _("要更換載具，請輸入「載具 /新的手機條碼」。", language),
                    "size": "sm",
                    "color": GREY,
                    "wrap": True,
                },
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                uri_button(_("開啟動態條碼", language), card_url(settings, line_user_id), style="primary"),
                postback_button(_("刪除載具", language), "carrier_remove"),
            ],
        },
    }


def carrier_message(
    language: str, settings: Settings, carrier: str | None, line_user_id: str, *, saved: bool = False
) -> list[Message]:
    """What `載具` answers: the saved carrier (just saved, when `saved`), or how to set one."""
    if carrier is None:
        return [TextMessage(text=_(NOT_SET, language))]
    lead = _("已儲存您的手機條碼載具。", language) if saved else _("您目前的手機條碼載具：", language)
    card = carrier_card(language, settings, carrier, line_user_id)
    return [TextMessage(text=lead), flex(_("手機條碼載具", language), card, _remove_reply(language))]


def carrier_removed(language: str, had: bool) -> list[Message]:
    """The answer to `刪除載具`."""
    if not had:
        return [TextMessage(text=_(NOT_SET, language))]
    removed = _(
        "已刪除您的手機條碼載具。日後如需使用，請輸入「載具 /ABC1234」（把 /ABC1234 換成您的手機條碼）重新設定。",
        language,
    )
    return [TextMessage(text=removed)]


def carrier_refused(language: str, why: str) -> list[Message]:
    """A carrier that was not saved: why, and how to type it."""
    return [TextMessage(text=why + "\n" + _("請再輸入一次，例如「載具 /ABC1234」。", language))]
