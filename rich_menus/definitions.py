"""The two rich menus: guests see "join", members see their barcode first. Every tap is a documented postback."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import RichMenuRequest

WIDTH, HEIGHT = 2500, 1686
COLUMNS, ROWS = 3, 2

# (action, zh-TW label, English label) in reading order, left to right, top to bottom.
GUEST_AREAS = (
    ("bind", "加入會員", "Join"),
    ("bind", "綁定會員", "Link membership"),
    ("help", "功能說明", "Help"),
    ("checkin", "每日簽到", "Check in"),
    ("draw", "幸運抽獎", "Lucky draw"),
    ("tasks", "每日任務", "Tasks"),
)
MEMBER_AREAS = (
    ("barcode", "會員條碼", "Barcode"),
    ("points", "我的點數", "Points"),
    ("coupons", "優惠券", "Coupons"),
    ("stamps", "集點卡", "Stamp cards"),
    ("checkin", "每日簽到", "Check in"),
    ("tasks", "每日任務", "Tasks"),
)
MENUS = {"guest": GUEST_AREAS, "member": MEMBER_AREAS}


def area_bounds(index: int) -> dict[str, int]:
    """The pixel box of the index-th cell in a 3x2 grid (the last column and row take the rounding)."""
    column, row = index % COLUMNS, index // COLUMNS
    cell_w, cell_h = WIDTH // COLUMNS, HEIGHT // ROWS
    return {
        "x": column * cell_w,
        "y": row * cell_h,
        "width": WIDTH - column * cell_w if column == COLUMNS - 1 else cell_w,
        "height": HEIGHT - row * cell_h if row == ROWS - 1 else cell_h,
    }


def rich_menu_request(state: str) -> RichMenuRequest:
    """The LINE rich menu request for the "guest" or "member" menu, validated by line-bot-sdk's model."""
    areas = MENUS[state]
    body: dict[str, Any] = {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": f"omo-{state}",
        "chatBarText": "會員選單" if state == "member" else "加入會員",
        "areas": [
            {
                "bounds": area_bounds(index),
                "action": {"type": "postback", "label": label, "data": f"action={name}", "displayText": label},
            }
            for index, (name, label, _english) in enumerate(areas)
        ],
    }
    return RichMenuRequest.from_dict(body)
