"""What a campaign says: its message specs (text, or a card from the template), validated, and rendered for one
recipient as LINE message objects (plain dicts, at most MAX_MESSAGES_PER_REQUEST of them).

Personal fields are filled by a whitelist substitution in one pass: `{name}` and `{points}` are replaced, nothing
else is read, and a value that itself holds `{points}` or braces stays literal (no str.format on marketers' text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from models import CouponTemplate

TEXT_MAX = 5000  # LINE's limit for a text message
TITLE_MAX = 40
BODY_MAX = 500
LABEL_MAX = 20  # LINE's limit for an action label
URL_MAX = 1000
ALT_TEXT_MAX = 400
FIELDS = ("name", "points")
_FIELD = re.compile(r"\{(name|points)\}")
NAMELESS = "會員"
CONTROL_CHARACTERS = "內容不能包含控制字元"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CampaignInvalid(Exception):
    """A campaign that cannot be saved; `message` is the zh-TW text for the marketer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Personal:
    """The values of the personal fields for one recipient."""

    name: str | None
    points: int


def fill(text: str, personal: Personal) -> str:
    """`text` with `{name}` and `{points}` replaced by the recipient's values, in one pass (the values are never
    read as fields)."""
    values = {"name": personal.name or NAMELESS, "points": f"{personal.points:,}"}
    return _FIELD.sub(lambda match: values[match.group(1)], text)


def is_personal(spec: dict[str, Any]) -> bool:
    """Whether the message changes from one recipient to the next."""
    return any(_FIELD.search(str(value)) for value in spec.values())


def uses_points(specs: list[dict[str, Any]]) -> bool:
    return any("{points}" in str(value) for spec in specs for value in spec.values())


def check_characters(text: str) -> str:
    """`text`, or CampaignInvalid when it holds a control character (line breaks and tabs are fine)."""
    if _CONTROL.search(text):
        raise CampaignInvalid(CONTROL_CHARACTERS)
    return text


def _clean(value: Any, limit: int, empty: str, too_long: str, *, required: bool = True) -> str:
    text = check_characters(value.strip() if isinstance(value, str) else "")
    if required and not text:
        raise CampaignInvalid(empty)
    if len(text) > limit:
        raise CampaignInvalid(too_long)
    return text


def _url(value: Any, bad: str) -> str:
    text = check_characters(value.strip() if isinstance(value, str) else "")
    if not text:
        return ""
    if len(text) > URL_MAX or not re.fullmatch(r"https://[^\s<>\"']+", text):
        raise CampaignInvalid(bad)
    return text


def validate_spec(raw: dict[str, Any]) -> dict[str, Any]:
    """A message spec as stored, or CampaignInvalid saying what is wrong."""
    kind = raw.get("kind")
    if kind == "text":
        text = _clean(raw.get("text"), TEXT_MAX, "請輸入訊息內容", "訊息內容最多 5000 字")
        return {"kind": "text", "text": text}
    if kind == "card":
        title = _clean(raw.get("title"), TITLE_MAX, "請輸入卡片標題", "卡片標題最多 40 字")
        body = _clean(raw.get("body"), BODY_MAX, "請輸入卡片內容", "卡片內容最多 500 字")
        label = _clean(raw.get("button_label"), LABEL_MAX, "", "按鈕文字最多 20 字", required=False)
        url = _url(raw.get("button_url"), "按鈕連結須為 https:// 開頭的網址")
        if bool(label) != bool(url):
            raise CampaignInvalid("按鈕須同時填寫文字與連結")
        image = _url(raw.get("image_url"), "圖片網址須為 https:// 開頭的網址")
        return {
            "kind": "card",
            "title": title,
            "body": body,
            "button_label": label,
            "button_url": url,
            "image_url": image,
        }
    raise CampaignInvalid("請選擇訊息類型")


def _card(spec: dict[str, Any], personal: Personal) -> dict[str, Any]:
    title, body = fill(spec["title"], personal), fill(spec["body"], personal)
    bubble: dict[str, Any] = {
        "type": "bubble",
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {"type": "text", "text": title[:TEXT_MAX], "weight": "bold", "size": "lg", "wrap": True},
                {"type": "text", "text": body[:TEXT_MAX], "wrap": True, "size": "sm"},
            ],
        },
    }
    if spec.get("image_url"):
        bubble["hero"] = {
            "type": "image",
            "url": spec["image_url"],
            "size": "full",
            "aspectRatio": "20:13",
            "aspectMode": "cover",
        }
    if spec.get("button_label"):
        bubble["footer"] = {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary",
                    "color": "#06C755",
                    "height": "sm",
                    "action": {"type": "uri", "label": spec["button_label"], "uri": spec["button_url"]},
                }
            ],
        }
    return {"type": "flex", "altText": title[:ALT_TEXT_MAX], "contents": bubble}


def coupon_note(template: CouponTemplate) -> dict[str, Any]:
    """The line added for a recipient who was issued the campaign's coupon."""
    return {"type": "text", "text": f"已送您一張優惠券「{template.name}」，可在選單的「優惠券」查看與使用。"}


def render(spec: dict[str, Any], personal: Personal, coupon: CouponTemplate | None = None) -> list[dict[str, Any]]:
    """The LINE messages one recipient gets (one or two: LINE takes five a request)."""
    if spec["kind"] == "text":
        messages = [{"type": "text", "text": fill(spec["text"], personal)[:TEXT_MAX]}]
    else:
        messages = [_card(spec, personal)]
    if coupon is not None:
        messages.append(coupon_note(coupon))
    return messages
