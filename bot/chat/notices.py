"""Short messages the member gets when something happens to their membership (welcome, tier, points expiring)."""

from __future__ import annotations

from datetime import date

from linebot.v3.messaging import Message, TextMessage

from bot.i18n import _


def welcome_member(language: str, brand: str, member_number: str, welcome_points: int) -> list[Message]:
    """After joining on the join page: the member number, and the welcome points when the brand gives some."""
    text = _("歡迎加入 {brand} 會員！您的會員編號是 {number}。", language, brand=brand, number=member_number)
    if welcome_points > 0:
        text += "\n" + _("已送上入會禮 {points} 點。", language, points=welcome_points)
    return [TextMessage(text=text)]


def tier_upgraded(language: str, tier_label: str) -> list[Message]:
    return [TextMessage(text=_("恭喜升級為{tier}！", language, tier=_(tier_label, language)))]


def points_expiring(language: str, points: int, expires_on: date) -> list[Message]:
    return [
        TextMessage(text=_("您有 {points} 點將於 {date} 到期", language, points=points, date=expires_on.isoformat()))
    ]
