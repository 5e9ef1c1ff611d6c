"""Chat messages about the shopper's membership: invitation to join or bind, profile card, confirmations."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import Message, TemplateMessage, TextMessage

from bot.chat.base import BRAND_GREEN, GREY, bubble, flex, member_shortcuts, postback_button, quick_menu, uri_button
from bot.i18n import _
from bot.services.membership.members import MemberSummary

TIER_LABELS = {"regular": "一般會員", "silver": "銀卡會員", "gold": "金卡會員"}


def invitation(language: str, brand: str, join_url: str, bind_url: str | None) -> list[Message]:
    """For a LINE user who is not a member: join, bind an existing membership, or use a counter code."""
    buttons = [uri_button(_("加入會員", language), join_url, style="primary")]
    if bind_url:
        buttons.append(uri_button(_("綁定既有會員", language), bind_url))
    card = bubble(
        _("加入 {brand} 會員", language, brand=brand),
        _(
            "新朋友請選「加入會員」；已經是門市或網路商店的會員，請選「綁定既有會員」。"
            "也可以請門市人員提供綁定碼，在這裡輸入「綁定 123456」。",
            language,
        ),
        buttons,
    )
    return [flex(_("加入或綁定會員", language), card)]


def profile(language: str, brand: str, member: MemberSummary) -> list[Message]:
    """The member's card: name, number, tier, points, and where to go next."""
    rows = [
        (_("會員編號", language), member.member_number),
        (_("等級", language), _(TIER_LABELS.get(member.tier, member.tier), language)),
        (_("點數", language), f"{member.points:,}"),
    ]
    card: dict[str, Any] = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": brand, "color": "#FFFFFF", "size": "sm"},
                {
                    "type": "text",
                    "text": _("{name}，您好", language, name=member.name or _("會員", language)),
                    "color": "#FFFFFF",
                    "weight": "bold",
                    "size": "lg",
                    "wrap": True,
                },
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {
                    "type": "box",
                    "layout": "horizontal",
                    "contents": [
                        {"type": "text", "text": label, "size": "sm", "color": GREY, "flex": 2},
                        {"type": "text", "text": value, "size": "sm", "weight": "bold", "align": "end", "flex": 3},
                    ],
                }
                for label, value in rows
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                *member_shortcuts(language),
                postback_button(_("手機條碼載具", language), "carrier"),
                postback_button(_("解除綁定", language), "unbind"),
            ],
        },
    }
    return [flex(_("我的會員資料", language), card)]


def confirm(language: str, text: str, yes_label: str, yes_data: str) -> list[Message]:
    """A yes/no question; "no" leads back to the profile."""
    return [
        TemplateMessage.from_dict(
            {
                "type": "template",
                "altText": text[:400],
                "template": {
                    "type": "confirm",
                    "text": text[:240],
                    "actions": [
                        {"type": "postback", "label": yes_label, "data": yes_data, "displayText": yes_label},
                        {
                            "type": "postback",
                            "label": _("取消", language),
                            "data": "action=profile",
                            "displayText": _("取消", language),
                        },
                    ],
                },
            }
        )
    ]


def account_linked(language: str, member_number: str) -> list[Message]:
    """The confirmation after LINE's dialog bound the shopper's membership."""
    text = _("LINE 帳號已與會員綁定完成！會員編號：{number}", language, number=member_number)
    return [TextMessage(text=text, quickReply=quick_menu(language, is_member=True))]


def account_link_refused(language: str, why: str) -> list[Message]:
    """Why the account link did not bind (`why`, in `language`), and what to do next."""
    text = why + "\n" + _("如需協助，請輸入「綁定會員」重新開始，或洽門市人員。", language)
    return [TextMessage(text=text)]
