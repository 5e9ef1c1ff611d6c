"""What the brand tells anyone who asks: 最新活動 (the programme right now) and 門市資訊 (where the stores are)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from linebot.v3.messaging import Message, TextMessage

from bot.chat.base import GREY, flex, postback_button, uri_button
from bot.chat.stamps import fill_text, rule_text
from bot.i18n import _
from bot.services.rewards.programme import Programme
from bot.services.staff.stores import StoreInfo

# LINE shows at most 12 bubbles in a carousel.
MAX_STORES = 12


def _line(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "sm", "wrap": True, **style}


def programme_message(language: str, brand: str, programme: Programme, is_member: bool) -> list[Message]:
    """The stamp-card campaigns running now and what each tier gives; a guest is invited to join."""
    lines: list[dict[str, Any]] = [_line(_("集點活動", language), weight="bold", size="md")]
    if programme.campaigns:
        for card in programme.campaigns:
            earn = rule_text(language, card.rule, card.amount_per_stamp)
            fill = fill_text(language, card.stamps_to_fill, card.reward)
            lines.append(
                _line(_("・{name}：{earn}，{fill}", language, name=_(card.name, language), earn=earn, fill=fill))
            )
    else:
        lines.append(_line(_("目前沒有進行中的集點活動，有新活動時會在這裡通知您！", language), color=GREY))
    lines += [{"type": "separator", "margin": "md"}, _line(_("會員等級", language), weight="bold", size="md")]
    for tier in programme.tiers:
        needs = (
            _("近 12 個月消費滿 NT${amount}", language, amount=f"{tier.threshold:,}")
            if tier.threshold
            else _("加入即享", language)
        )
        gives = _("點數 {rate} 倍", language, rate=f"{tier.earn_multiplier:g}")
        if tier.birthday_gift:
            gives += _("，生日禮「{gift}」", language, gift=_(tier.birthday_gift, language))
        lines.append(
            _line(_("・{tier}：{needs}，{gives}", language, tier=_(tier.label, language), needs=needs, gives=gives))
        )
    action = postback_button(_("我的點數", language), "points") if is_member else None
    join = postback_button(_("加入/綁定會員", language), "bind", style="primary")
    bubble = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [_line(_("{brand} 最新活動", language, brand=brand), weight="bold", size="lg"), *lines],
        },
        "footer": {"type": "box", "layout": "vertical", "contents": [action or join]},
    }
    return [flex(_("最新活動", language), bubble)]


def _store_bubble(language: str, store: StoreInfo) -> dict[str, Any]:
    map_url = f"https://www.google.com/maps/search/?api=1&query={quote(store.address)}"
    details = [_line(store.address, color=GREY)]
    if store.opening_hours:
        details.append(_line(_("營業時間 {hours}", language, hours=store.opening_hours), color=GREY))
    buttons = [uri_button(_("地圖", language), map_url, style="primary")]
    if store.phone:
        details.append(_line(_("電話 {phone}", language, phone=store.phone), color=GREY))
        buttons.append(uri_button(_("撥打電話", language), f"tel:{store.phone.replace(' ', '').replace('-', '')}"))
    return {
        "type": "bubble",
        "size": "kilo",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [_line(store.name, weight="bold", size="md"), *details],
        },
        "footer": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons},
    }


def store_directory_message(language: str, stores: list[StoreInfo]) -> list[Message]:
    """The stores as a carousel: address, hours, phone, a map and a call button."""
    if not stores:
        return [TextMessage(text=_("門市資訊即將更新，請稍後再查看。", language))]
    bubbles = [_store_bubble(language, store) for store in stores[:MAX_STORES]]
    return [flex(_("門市資訊", language), {"type": "carousel", "contents": bubbles})]
