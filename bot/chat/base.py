"""Chat messages the handlers send, built with line-bot-sdk v3 models."""

from __future__ import annotations

from functools import cache
from typing import Any

from linebot.v3.messaging import FlexContainer, FlexMessage, Message, QuickReply, TextMessage

from bot.i18n import _

BRAND_GREEN = "#06C755"
GREY = "#888888"

# (action, zh-TW label) in the order the menu shows them: only what is built. A member sees their profile where a
# guest is offered to join.
MENU_ACTIONS: tuple[tuple[str, str], ...] = (
    ("bind", "加入/綁定會員"),
    ("barcode", "會員條碼"),
    ("points", "我的點數"),
    ("stamps", "集點卡"),
    ("coupons", "優惠券"),
    ("news", "最新活動"),
    ("stores", "門市資訊"),
)
# A member also gets the games that are built (a guest tapping them is invited to join first).
MEMBER_MENU_ACTIONS: tuple[tuple[str, str], ...] = (
    ("profile", "會員資料"),
    *MENU_ACTIONS[1:],
    ("checkin", "每日簽到"),
    ("tasks", "每日任務"),
    ("draw", "幸運抽獎"),
    ("scratch", "刮刮樂"),
)


def _menu_actions(is_member: bool) -> tuple[tuple[str, str], ...]:
    return MEMBER_MENU_ACTIONS if is_member else MENU_ACTIONS


def postback_button(label: str, action: str, style: str = "secondary") -> dict[str, Any]:
    return {
        "type": "button",
        "style": style,
        "height": "sm",
        "action": {"type": "postback", "label": label, "data": f"action={action}", "displayText": label},
    }


def uri_button(label: str, uri: str, style: str = "secondary") -> dict[str, Any]:
    return {"type": "button", "style": style, "height": "sm", "action": {"type": "uri", "label": label, "uri": uri}}


def bubble(title: str, body: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {"type": "text", "text": title, "weight": "bold", "size": "lg", "wrap": True},
                {"type": "text", "text": body, "size": "sm", "color": "#555555", "wrap": True},
            ],
        },
        "footer": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons},
    }


def flex(alt_text: str, container: dict[str, Any], quick_reply: QuickReply | None = None) -> FlexMessage:
    return FlexMessage(altText=alt_text[:400], contents=FlexContainer.from_dict(container), quickReply=quick_reply)


@cache  # the same few menus on most answers: built (and checked by the SDK) once per language
def quick_menu(language: str, is_member: bool = False) -> QuickReply:
    return QuickReply.from_dict(
        {
            "items": [
                {
                    "type": "action",
                    "action": {
                        "type": "postback",
                        "label": _(label, language)[:20],
                        "data": f"action={action}",
                        "displayText": _(label, language),
                    },
                }
                for action, label in _menu_actions(is_member)
            ]
        }
    )


def welcome(language: str, brand: str, display_name: str | None, returning: bool) -> list[Message]:
    name = display_name or _("朋友", language)
    if returning:
        greeting = _("{name}，歡迎回來！很高興再見到您。", language, name=name)
    else:
        greeting = _("{name}，歡迎加入 {brand} 的好友！", language, name=name, brand=brand)
    card = bubble(
        _("{brand} 會員", language, brand=brand),
        _("加入或綁定會員，門市與網路商店的點數、集點卡與優惠券都在這裡。", language),
        [
            postback_button(_("加入/綁定會員", language), "bind", style="primary"),
            postback_button(_("看看有什麼", language), "help"),
        ],
    )
    return [TextMessage(text=greeting), flex(greeting, card)]


def menu(language: str, brand: str, is_member: bool = False) -> list[Message]:
    """The menu card; its quick replies ride on it because LINE shows them only on a batch's last message."""
    return [_menu_card(language, brand, is_member)]


@cache  # the answer to every message the bot does not understand: built (and checked by the SDK) once per language
def _menu_card(language: str, brand: str, is_member: bool) -> FlexMessage:
    buttons = [postback_button(_(label, language), action) for action, label in _menu_actions(is_member)]
    card = bubble(
        _("{brand} 可以幫您做這些事", language, brand=brand),
        _("點選下方按鈕，或輸入關鍵字，例如「會員條碼」、「集點卡」、「門市資訊」。", language),
        buttons,
    )
    return flex(_("功能選單", language), card, quick_menu(language, is_member))


def not_understood(language: str, brand: str, is_member: bool = False) -> list[Message]:
    text = TextMessage(text=_("抱歉，我看不懂這則訊息。請從下方選單選擇想做的事。", language))
    return [text, *menu(language, brand, is_member)]


def coming_soon(language: str, label: str) -> list[Message]:
    return [
        TextMessage(
            text=_("「{feature}」功能即將開放，敬請期待！", language, feature=_(label, language)),
            quickReply=quick_menu(language),
        )
    ]


def member_shortcuts(language: str) -> list[dict[str, Any]]:
    """The buttons a member card ends with: barcode first, then stamp cards and coupons."""
    return [
        postback_button(_("會員條碼", language), "barcode", style="primary"),
        postback_button(_("集點卡", language), "stamps"),
        postback_button(_("優惠券", language), "coupons"),
    ]


def text(message: str) -> list[Message]:
    return [TextMessage(text=message)]
