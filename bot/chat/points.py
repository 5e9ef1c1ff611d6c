"""Points in the chat: the balance, the tier and what the next one needs, the latest ledger entries, and points
about to expire."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import Message

from bot.chat.base import BRAND_GREEN, GREY, flex, member_shortcuts
from bot.i18n import _
from bot.services.rewards.points_view import EntryLine, PointsView

MINUS_RED = "#E53935"


def points_message(language: str, view: PointsView) -> list[Message]:
    """The member's points card."""
    return [flex(_("我的點數", language), points_bubble(language, view))]


def _next_tier_text(language: str, view: PointsView) -> str:
    """What the next tier needs (rolling 12-month spend), or that the member is at the top."""
    if view.at_top:
        return _("您已是最高等級，感謝您的支持！", language)
    if view.next_tier is None:
        return ""
    label, needed = view.next_tier
    return _("近 12 個月再消費 NT${amount} 即可升級為{tier}", language, amount=f"{needed:,}", tier=_(label, language))


def _note(text: str, color: str) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "sm", "color": color, "wrap": True}


def _entry_row(language: str, entry: EntryLine) -> dict[str, Any]:
    day = entry.day
    sign = "+" if entry.points >= 0 else "−"
    return {
        "type": "box",
        "layout": "horizontal",
        "spacing": "sm",
        "contents": [
            {"type": "text", "text": f"{day:%m/%d}", "size": "sm", "color": GREY, "flex": 2},
            {"type": "text", "text": _(entry.reason, language), "size": "sm", "flex": 5, "wrap": True},
            {
                "type": "text",
                "text": f"{sign}{abs(entry.points):,}",
                "size": "sm",
                "weight": "bold",
                "align": "end",
                "color": BRAND_GREEN if entry.points >= 0 else MINUS_RED,
                "flex": 3,
            },
        ],
    }


def _expiring(language: str, view: PointsView) -> list[dict[str, Any]]:
    if view.expiring is None:
        return []
    points, day = view.expiring
    text = _("{points} 點將於 {date} 到期，記得使用喔！", language, points=f"{points:,}", date=day.isoformat())
    return [_note(text, MINUS_RED)]


def points_bubble(language: str, view: PointsView) -> dict[str, Any]:
    """The balance (cached), the tier and what the next needs, the latest entries, points expiring soon."""
    balance = view.balance
    next_tier = _next_tier_text(language, view)
    history = [_entry_row(language, entry) for entry in view.latest] or [
        {"type": "text", "text": _("還沒有點數紀錄", language), "size": "sm", "color": GREY}
    ]
    return {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": _("我的點數", language), "color": "#FFFFFF", "size": "sm"},
                {
                    "type": "text",
                    "text": _("{points} 點", language, points=f"{balance:,}"),
                    "color": "#FFFFFF",
                    "weight": "bold",
                    "size": "3xl",
                },
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "text",
                    "text": _(view.tier_label, language),
                    "weight": "bold",
                    "size": "md",
                },
                *([_note(next_tier, GREY)] if next_tier else []),
                *_expiring(language, view),
                {"type": "separator"},
                {"type": "text", "text": _("最近紀錄", language), "weight": "bold", "size": "sm"},
                *history,
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                *member_shortcuts(language),
            ],
        },
    }
