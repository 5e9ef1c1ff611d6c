"""The member barcode card in the chat: the rotating code as Code 128 and QR images, and a button to the live card.

The images sit behind signed links that expire after 3 minutes, so an old chat card shows no usable code; the live
card (`/members/card`) keeps the code fresh at the counter.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from linebot.v3.messaging import Message

from bot.chat.base import BRAND_GREEN, GREY, flex, uri_button
from bot.chat.membership import TIER_LABELS
from bot.i18n import _
from bot.links import card_url, image_url
from bot.services.barcode.codes import STEP_SECONDS, CurrentCode
from bot.services.membership.members import MemberSummary
from bot.settings import Settings

WHITE = "#FFFFFF"


def barcode_message(
    language: str, settings: Settings, member: MemberSummary, code: CurrentCode, line_user_id: str
) -> list[Message]:
    """The member's barcode card."""
    card = barcode_card(language, settings, member, code, line_user_id)
    return [flex(_("{brand} 會員條碼", language, brand=settings.brand_name), card)]


def barcode_card(
    language: str, settings: Settings, member: MemberSummary, code: CurrentCode, line_user_id: str
) -> dict[str, Any]:
    """The Flex bubble: brand, name, tier, points, the code as Code 128 and QR, the live card button."""
    # Scanners accept a code in its own time step and the next one.
    until = f"{(code.expires_at + timedelta(seconds=STEP_SECONDS)).astimezone(settings.tz):%H:%M}"
    return {
        "type": "bubble",
        "size": "giga",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": settings.brand_name, "color": WHITE, "size": "sm"},
                {
                    "type": "text",
                    "text": member.name or _("會員", language),
                    "color": WHITE,
                    "weight": "bold",
                    "size": "lg",
                    "wrap": True,
                },
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "backgroundColor": WHITE,
            "contents": [
                _tier_and_points(language, member),
                {
                    "type": "image",
                    "url": image_url(settings, code.code, "code128"),
                    "size": "full",
                    "aspectMode": "fit",
                    "aspectRatio": CODE128_ASPECT_RATIO,
                    "backgroundColor": WHITE,
                },
                _small(_grouped(code.code), color="#333333"),
                {
                    "type": "image",
                    "url": image_url(settings, code.code, "qr"),
                    "size": "xl",
                    "aspectMode": "fit",
                    "aspectRatio": "1:1",
                    "backgroundColor": WHITE,
                },
                _small(_("此條碼於 {time} 前有效，每分鐘更新；結帳時請開啟動態條碼。", language, time=until)),
                {"type": "separator"},
                _small(_("會員編號 {number}（僅供查詢）", language, number=member.member_number)),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [uri_button(_("開啟動態條碼", language), card_url(settings, line_user_id), style="primary")],
        },
    }


def _tier_and_points(language: str, member: MemberSummary) -> dict[str, Any]:
    tier = _(TIER_LABELS.get(member.tier, member.tier), language)
    return {
        "type": "box",
        "layout": "horizontal",
        "contents": [
            {"type": "text", "text": tier, "size": "sm", "weight": "bold", "flex": 1},
            {
                "type": "text",
                "text": _("{points} 點", language, points=f"{member.points:,}"),
                "size": "sm",
                "weight": "bold",
                "align": "end",
                "flex": 1,
            },
        ],
    }


def _small(text: str, color: str = GREY) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "xs", "color": color, "align": "center", "wrap": True}


def _grouped(code: str) -> str:
    """18 digits in three groups of six, easier to read out or type at a till."""
    return " ".join(code[i : i + 6] for i in range(0, len(code), 6))


# Width:height of the Code 128 PNG bot.barcode_images draws for every 18-digit code (tests/unit/test_barcode_images.py
# checks it against the image): a constant, so the queue worker composes the card without importing the image libraries.
CODE128_ASPECT_RATIO = "629:157"
