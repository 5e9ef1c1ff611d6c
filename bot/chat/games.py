"""The lucky draw and the scratch card in the chat: a play's result with the plays left (as the server counts
them), the card that opens the scratch page, and what is said when no play is left."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import Message, TextMessage

from bot.chat.base import BRAND_GREEN, GREY, flex, postback_button, uri_button
from bot.i18n import _
from bot.services.engagement.games import PlayResult, PlaysLeft

GOLD = "#D97706"


def _line(text: str, color: str = "#333333", **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "sm", "color": color, "wrap": True, **style}


def plays_left_text(language: str, left: PlaysLeft) -> str:
    """「今天還可以玩 N 次」: the free plays left today plus extra plays."""
    if left.total == 0:
        return _("今天的次數已用完，明天再來！", language)
    return _("剩餘次數：{count} 次", language, count=left.total)


def prize_text(language: str, result: PlayResult) -> str:
    """What the play gave, in a few words."""
    if result.prize is None:
        return _("沒有中獎，下次再接再厲！", language)
    return _("恭喜您抽中「{prize}」！", language, prize=_(result.prize.name, language))


def _how_to_use(language: str, result: PlayResult) -> str | None:
    if result.prize is None:
        return None
    if result.coupon is not None:
        return _("優惠券已放進「優惠券」，結帳時出示即可使用。", language)
    return _("已為您加入 {points} 點。", language, points=result.prize.points)


def draw_result(language: str, result: PlayResult) -> list[Message]:
    """The lucky draw's answer: the prize (or none), how to use it, and the plays left."""
    won = result.prize is not None
    lines = [
        {
            "type": "text",
            "text": "★" if won else "☆",
            "size": "3xl",
            "align": "center",
        },
        {
            "type": "text",
            "text": prize_text(language, result),
            "weight": "bold",
            "size": "lg",
            "align": "center",
            "wrap": True,
            "color": GOLD if won else "#333333",
        },
    ]
    if (use := _how_to_use(language, result)) is not None:
        lines.append(_line(use, align="center"))
    lines.append({"type": "separator"})
    lines.append(_line(plays_left_text(language, result.plays_left), GREY, align="center", size="xs"))
    buttons = []
    if result.plays_left.total > 0:
        buttons.append(postback_button(_("再抽一次", language), "draw", style="primary"))
    if result.coupon is not None:
        buttons.append(postback_button(_("優惠券", language), "coupons"))
    bubble: dict[str, Any] = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": _(result.game.name, language), "color": "#FFFFFF", "weight": "bold"},
            ],
        },
        "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": lines},
    }
    if buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons}
    return [flex(prize_text(language, result), bubble)]


def no_plays_left(language: str, refusal_text: str) -> list[Message]:
    return [TextMessage(text=refusal_text)]


def scratch_card(language: str, game_name: str, url: str, *, already_played: bool, left: PlaysLeft) -> list[Message]:
    """The card that opens the scratch page: a new card to scratch, or today's card again."""
    if already_played:
        title = _("今天的刮刮樂已經刮過囉！", language)
        body = _("點下方按鈕可以再看一次結果。", language)
        label = _("查看結果", language)
    else:
        title = _("您有一張刮刮樂！", language)
        body = _("點下方按鈕，用手指刮開看看您中了什麼。", language)
        label = _("刮開看看", language)
    bubble = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [{"type": "text", "text": _(game_name, language), "color": "#FFFFFF", "weight": "bold"}],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {"type": "text", "text": title, "weight": "bold", "size": "lg", "wrap": True},
                _line(body),
                _line(plays_left_text(language, left), GREY, size="xs"),
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [uri_button(label, url, style="primary")],
        },
    }
    return [flex(title, bubble)]
