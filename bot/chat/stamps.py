"""Stamp cards in the chat: a carousel of the member's open cards (filled and empty stamps, "3 / 10", expiry and
reward), how to earn when there are none yet, and the card pushed when it fills."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import Message, TextMessage

from bot.chat.base import BRAND_GREEN, GREY, flex, postback_button
from bot.i18n import _
from bot.services.rewards.stamp_views import CardView, HowToEarn
from models import Coupon

EMPTY_GREY = "#BBBBBB"
PER_ROW = 5
# LINE shows at most 12 bubbles in a carousel.
MAX_BUBBLES = 12


def rule_text(language: str, rule: str, amount_per_stamp: int | None) -> str:
    """How a card earns stamps, in a few words."""
    if rule == "per_amount" and amount_per_stamp:
        return _("每消費 NT${amount} 集 1 點", language, amount=f"{amount_per_stamp:,}")
    return _("每次來店集 1 點", language)


def fill_text(language: str, stamps_to_fill: int, reward: str | None) -> str:
    if reward:
        return _("集滿 {count} 點送「{reward}」", language, count=stamps_to_fill, reward=_(reward, language))
    return _("集滿 {count} 點", language, count=stamps_to_fill)


def how_to_earn(language: str, cards: list[HowToEarn]) -> str:
    """For a member with no card yet: the cards the brand runs and how each is earned."""
    if not cards:
        return _("目前沒有進行中的集點活動，有新活動時會在這裡通知您！", language)
    lines = [_("您目前沒有進行中的集點卡，集點方式：", language)]
    for card in cards:
        earn = rule_text(language, card.rule, card.amount_per_stamp)
        fill = fill_text(language, card.stamps_to_fill, card.reward)
        lines.append(_("・{name}：{earn}，{fill}", language, name=_(card.name, language), earn=earn, fill=fill))
    lines.append(_("結帳時出示「會員條碼」就能集點。", language))
    return "\n".join(lines)


def _stamp(filled: bool) -> dict[str, Any]:
    return {
        "type": "text",
        "text": "●" if filled else "○",
        "color": BRAND_GREEN if filled else EMPTY_GREY,
        "size": "xl",
        "align": "center",
        "flex": 1,
    }


def stamp_grid(stamps: int, stamps_to_fill: int) -> list[dict[str, Any]]:
    """Rows of five: ● (brand green) for each stamp collected, ○ for each one still to collect."""
    rows = []
    for start in range(0, stamps_to_fill, PER_ROW):
        cells = [_stamp(i < stamps) for i in range(start, min(start + PER_ROW, stamps_to_fill))]
        cells += [{"type": "filler", "flex": 1}] * (PER_ROW - len(cells))
        rows.append({"type": "box", "layout": "horizontal", "contents": cells})
    return rows


def _line(text: str, color: str = GREY, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "sm", "color": color, "wrap": True, **style}


def card_bubble(language: str, view: CardView, *, filled: bool = False) -> dict[str, Any]:
    """One card: its name, the stamp grid, "3 / 10", until when it works and what a full card gives."""
    if view.last_day is not None:
        expiry = _("有效期限 {date}", language, date=view.last_day.isoformat())
    elif view.valid_days is not None:
        expiry = _("第一次集點起 {days} 天內有效", language, days=view.valid_days)
    else:
        expiry = _("無使用期限", language)
    status = _("已集滿！", language) if filled else f"{min(view.stamps, view.stamps_to_fill)} / {view.stamps_to_fill}"
    return {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": _(view.name, language), "color": "#FFFFFF", "weight": "bold", "wrap": True},
                _line(rule_text(language, view.rule, view.amount_per_stamp), color="#FFFFFF", size="xs"),
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                *stamp_grid(view.stamps, view.stamps_to_fill),
                {"type": "text", "text": status, "weight": "bold", "size": "xl", "align": "center"},
                {"type": "separator"},
                _line(fill_text(language, view.stamps_to_fill, view.reward), color="#333333"),
                _line(expiry),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                postback_button(_("優惠券", language), "coupons", style="primary")
                if filled
                else postback_button(_("會員條碼", language), "barcode", style="primary")
            ],
        },
    }


def filled_card_messages(language: str, view: CardView, coupon: Coupon | None) -> list[Message]:
    """Pushed when a card fills: congratulations, the reward, and the full card."""
    name = _(view.name, language)
    text = _("恭喜集滿「{name}」！", language, name=name)
    if coupon is not None and view.reward:
        text += "\n" + _("已送您「{reward}」，可在「優惠券」查看。", language, reward=_(view.reward, language))
    return [TextMessage(text=text), flex(text, card_bubble(language, view, filled=True))]


def stamp_cards(language: str, views: list[CardView], no_card_yet: list[HowToEarn]) -> list[Message]:
    """The member's open cards as a carousel, or how to earn when they have none."""
    if not views:
        return [TextMessage(text=how_to_earn(language, no_card_yet))]
    bubbles = [card_bubble(language, view) for view in views[:MAX_BUBBLES]]
    return [flex(_("我的集點卡", language), {"type": "carousel", "contents": bubbles})]
