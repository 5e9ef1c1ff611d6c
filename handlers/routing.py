"""The routing table: chat keywords and postback `action=<name>` data both lead to one action handler."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs

from handlers.context import HandlerContext, Replies

ActionHandler = Callable[[HandlerContext, dict[str, str]], Replies]

ACTIONS: dict[str, ActionHandler] = {}

# Typed keywords (compared after trimming and lower-casing) and the action each one means.
KEYWORDS: dict[str, str] = {
    "加入會員": "bind",
    "綁定會員": "bind",
    "會員綁定": "bind",
    "join": "bind",
    "bind": "bind",
    "會員條碼": "barcode",
    "條碼": "barcode",
    "barcode": "barcode",
    "集點卡": "stamps",
    "stamps": "stamps",
    "優惠券": "coupons",
    "coupons": "coupons",
    "我的點數": "points",
    "點數": "points",
    "points": "points",
    "簽到": "checkin",
    "每日簽到": "checkin",
    "checkin": "checkin",
    "每日任務": "tasks",
    "任務": "tasks",
    "tasks": "tasks",
    "抽獎": "draw",
    "幸運抽獎": "draw",
    "draw": "draw",
    "刮刮樂": "scratch",
    "scratch": "scratch",
    "最新活動": "news",
    "活動": "news",
    "news": "news",
    "門市資訊": "stores",
    "門市": "stores",
    "門市地址": "stores",
    "stores": "stores",
    "會員資料": "profile",
    "我的會員": "profile",
    "profile": "profile",
    "載具": "carrier",
    "手機條碼": "carrier",
    "手機載具": "carrier",
    "發票載具": "carrier",
    "carrier": "carrier",
    "刪除載具": "carrier_remove",
    "移除載具": "carrier_remove",
    "載具刪除": "carrier_remove",
    "remove carrier": "carrier_remove",
    "解除綁定": "unbind",
    "unbind": "unbind",
    "刪除我的資料": "erase",
    "選單": "help",
    "說明": "help",
    "help": "help",
    "menu": "help",
}


def action(name: str) -> Callable[[ActionHandler], ActionHandler]:
    """Register the handler of `action=<name>`; one handler per name."""

    def register(handler: ActionHandler) -> ActionHandler:
        if name in ACTIONS:
            raise ValueError(f"action {name!r} is registered twice")
        ACTIONS[name] = handler
        return handler

    return register


# Texts that carry a value: "綁定 123456" (a counter bind code).
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(?:綁定|bind)\s*(?P<code>\d{6})$", re.IGNORECASE), "bind_code"),
    # A clerk's referral code as the landing page types it: 「推薦碼 ABCD-EFGH」 (checked by the handler, so a mistyped
    # code gets an answer too). Shoppers' invite codes are 「邀請碼」 and six characters.
    (re.compile(r"^(?:推薦碼|referral code|referral)\s*[:：]?\s*(?P<code>\S.{0,59})$", re.IGNORECASE), "referral_code"),
    (re.compile(r"^(?:邀請碼|invite code|invite)\s*[:：]?\s*(?P<code>[A-Za-z0-9]{6})$", re.IGNORECASE), "invite_code"),
    (re.compile(r"^(?:簽到提醒|checkin reminder)\s*(?P<switch>開|關|on|off)$", re.IGNORECASE), "checkin_reminder"),
    # 「載具 /ABC1234」 or the carrier alone: whatever follows goes to the handler, so a typo gets the format.
    (
        re.compile(r"^(?:載具|手機條碼|手機載具|發票載具|carrier)\s*[:：]?\s*(?P<carrier>\S.{0,39})$", re.IGNORECASE),
        "carrier_set",
    ),
    (re.compile(r"^(?P<carrier>[/／]\S{7})$"), "carrier_set"),
)


def action_for_text(text: str) -> tuple[str, dict[str, str]] | None:
    """The action a typed text asks for, with the values it carries."""
    cleaned = text.strip()
    name = KEYWORDS.get(cleaned.lower())
    if name is not None:
        return name, {"action": name}
    for pattern, pattern_action in PATTERNS:
        match = pattern.match(cleaned)
        if match:
            return pattern_action, {"action": pattern_action, **match.groupdict()}
    return None


def parse_postback(data: str) -> tuple[str | None, dict[str, str]]:
    """`action=stamps&card=3` -> ("stamps", {"action": "stamps", "card": "3"})."""
    params = {key: values[0] for key, values in parse_qs(data, keep_blank_values=True).items()}
    return params.get("action"), params
