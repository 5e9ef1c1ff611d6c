"""Coupons in the chat: one coupon as a bubble, the carousel of usable coupons, the code to show at the till."""

from __future__ import annotations

from datetime import date, timedelta, tzinfo
from typing import Any

from linebot.v3.messaging import ImageMessage, Message, TextMessage

from bot.chat.base import GREY, flex
from bot.i18n import _
from models import Coupon, CouponTemplate

# LINE allows 12 bubbles in a carousel; ten coupons stay easy to swipe through.
MAX_BUBBLES = 10
ACCENT = "#E8594A"


def benefit(language: str, template: CouponTemplate) -> str:
    """What the coupon gives, in one line."""
    item = template.item or ""
    if template.kind == "amount_off":
        return _("折抵 NT${value}", language, value=f"{template.value:,}")
    if template.kind == "percent_off":
        return _("享 {value}% 折扣", language, value=template.value)
    if template.kind == "bogo":
        return _("{item} 買一送一", language, item=item)
    return _("免費兌換 {item}", language, item=item)


def min_spend_line(language: str, template: CouponTemplate) -> str:
    """The spend the coupon needs, or that it needs none."""
    if template.min_spend <= 0:
        return _("無最低消費", language)
    return _("消費滿 NT${amount} 可使用", language, amount=f"{template.min_spend:,}")


def expiry_line(language: str, tz: tzinfo, coupon: Coupon) -> str:
    """ "有效期限 YYYY-MM-DD": the brand-local day of the coupon's last moment."""
    if coupon.expires_at is None:
        return _("無使用期限", language)
    return _("有效期限 {date}", language, date=last_day(coupon, tz).isoformat())


def last_day(coupon: Coupon, tz: tzinfo) -> date:
    """The last brand-local day the coupon works (a coupon ending at midnight ends the day before)."""
    assert coupon.expires_at is not None
    return (coupon.expires_at - timedelta(microseconds=1)).astimezone(tz).date()


def coupon_bubble(language: str, tz: tzinfo, coupon: Coupon, template: CouponTemplate) -> dict[str, Any]:
    """One coupon as a Flex bubble: its name, what it gives, the minimum spend, until when, and a barcode button."""
    show = _("出示條碼", language)
    return {
        "type": "bubble",
        "size": "kilo",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": ACCENT,
            "contents": [
                {"type": "text", "text": template.name, "color": "#FFFFFF", "weight": "bold", "wrap": True},
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                {"type": "text", "text": benefit(language, template), "weight": "bold", "size": "lg", "wrap": True},
                {"type": "text", "text": min_spend_line(language, template), "size": "sm", "color": GREY},
                {"type": "text", "text": expiry_line(language, tz, coupon), "size": "sm", "color": GREY},
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "color": ACCENT,
                    "height": "sm",
                    "action": {
                        "type": "postback",
                        "label": show,
                        "data": f"action=coupon&code={coupon.code}",
                        "displayText": show,
                    },
                }
            ],
        },
    }


def coupon_carousel(language: str, tz: tzinfo, usable: list[tuple[Coupon, CouponTemplate]]) -> list[Message]:
    """The member's usable coupons, soonest to expire first; how to get one when there are none."""
    if not usable:
        return [
            TextMessage(
                text=_("您目前沒有可以使用的優惠券。集滿集點卡、參加活動或在生日當月，都有機會收到優惠券喔！", language)
            )
        ]
    bubbles = [coupon_bubble(language, tz, coupon, template) for coupon, template in usable[:MAX_BUBBLES]]
    replies: list[Message] = [
        flex(_("我的優惠券（{count} 張）", language, count=len(usable)), {"type": "carousel", "contents": bubbles})
    ]
    if len(usable) > MAX_BUBBLES:
        more = _("還有 {count} 張優惠券沒有列出，請先使用即將到期的。", language, count=len(usable) - MAX_BUBBLES)
        replies.append(TextMessage(text=more))
    return replies


def coupon_not_found(language: str) -> list[Message]:
    return [TextMessage(text=_("找不到這張優惠券，請輸入「優惠券」查看您的優惠券。", language))]


def coupon_code(language: str, tz: tzinfo, coupon: Coupon, template: CouponTemplate, image_url: str) -> list[Message]:
    """The coupon's Code 128 image and its code as text, for the clerk to scan or type when the image fails."""
    return [
        ImageMessage(originalContentUrl=image_url, previewImageUrl=image_url),
        TextMessage(
            text=_(
                "「{name}」\n優惠券代碼：{code}\n{expiry}\n結帳時請出示條碼給門市人員掃描。",
                language,
                name=template.name,
                code=coupon.code,
                expiry=expiry_line(language, tz, coupon),
            )
        ),
    ]


def birthday_coupon(
    language: str, tz: tzinfo, member_name: str | None, coupon: Coupon, template: CouponTemplate
) -> list[Message]:
    """The birthday wish with the tier's birthday coupon."""
    greeting = _(
        "生日快樂，{name}！送您一張生日禮「{coupon}」，祝您有美好的一天！",
        language,
        name=member_name or _("會員", language),
        coupon=template.name,
    )
    return [TextMessage(text=greeting), flex(greeting, coupon_bubble(language, tz, coupon, template))]


def coupon_expiring(language: str, tz: tzinfo, coupon: Coupon, template: CouponTemplate) -> list[Message]:
    """ "您的優惠券「X」將於 YYYY-MM-DD 到期", with the coupon."""
    text = _(
        "您的優惠券「{name}」將於 {date} 到期", language, name=template.name, date=last_day(coupon, tz).isoformat()
    )
    return [TextMessage(text=text), flex(text, coupon_bubble(language, tz, coupon, template))]
