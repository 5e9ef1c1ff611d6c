"""The rich menus as data: a guest menu, and a member menu of two tabs switched on the phone by rich menu aliases.

Every area is a postback the bot routes (`handlers.routing.ACTIONS`) or a `richmenuswitch` to the other tab. Only
features that are built appear here. rich_menus/render.py draws each menu's image from the same data, and
rich_menus/deploy.py creates them on LINE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging import RichMenuRequest

from bot.settings import Settings

WIDTH = 2500
FULL_HEIGHT, HALF_HEIGHT = 1686, 843
TAB_BAR_HEIGHT = 220

# What each deployment record (models.line.RichMenuDeployment.state) holds: "member" is the member menu's first tab,
# the one members are linked to; "member-more" is its second tab, reached only through its alias.
GUEST, MEMBER, MEMBER_MORE = "guest", "member", "member-more"
MEMBER_MAIN_ALIAS, MEMBER_MORE_ALIAS = "omo-member-main", "omo-member-more"
TAB_ACTION = "menu_tab"  # the postback a tab switch sends the bot (nothing to answer: the phone already switched)


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def as_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


@dataclass(frozen=True)
class Area:
    """One tappable area: a postback `action=<name>` or (a tab) a switch to another menu's alias."""

    bounds: Box
    label: str  # zh-TW, drawn on the image and given to LINE as the action's label
    english: str
    action: str | None = None  # postback action name
    switch_to_alias: str | None = None  # tab: richmenuswitch target
    tab: str | None = None  # tab: which tab this is ("main" or "more")
    current: bool = False  # tab: the tab this menu is
    primary: bool = False  # drawn in the brand colour

    def line_action(self) -> dict[str, Any]:
        if self.switch_to_alias is not None:
            return {
                "type": "richmenuswitch",
                "label": self.label,
                "richMenuAliasId": self.switch_to_alias,
                "data": f"action={TAB_ACTION}&tab={self.tab}",
            }
        return {"type": "postback", "label": self.label, "data": f"action={self.action}", "displayText": self.label}


@dataclass(frozen=True)
class MenuDefinition:
    state: str  # the RichMenuDeployment row it is recorded in
    name: str
    chat_bar_text: str
    height: int
    areas: tuple[Area, ...]
    alias_id: str | None = None
    brand_name: str = ""

    @property
    def size(self) -> tuple[int, int]:
        return WIDTH, self.height

    def request_body(self) -> dict[str, Any]:
        """The body of `POST /v2/bot/richmenu`."""
        return {
            "size": {"width": WIDTH, "height": self.height},
            "selected": True,
            "name": self.name,
            "chatBarText": self.chat_bar_text,
            "areas": [{"bounds": area.bounds.as_dict(), "action": area.line_action()} for area in self.areas],
        }

    def request(self) -> RichMenuRequest:
        """The body as line-bot-sdk's model (which checks its types)."""
        return RichMenuRequest.from_dict(self.request_body())

    @property
    def postback_actions(self) -> list[str]:
        return [area.action for area in self.areas if area.action is not None] + [
            TAB_ACTION for area in self.areas if area.switch_to_alias is not None
        ]


def grid(top: int, height: int, columns: int, rows: int) -> list[Box]:
    """Cells of a grid filling the width from `top` down `height` pixels, reading order; the last column and row
    take the rounding so the cells tile the space exactly."""
    cell_w, cell_h = WIDTH // columns, height // rows
    boxes = []
    for row in range(rows):
        for column in range(columns):
            x, y = column * cell_w, top + row * cell_h
            boxes.append(
                Box(
                    x,
                    y,
                    WIDTH - x if column == columns - 1 else cell_w,
                    top + height - y if row == rows - 1 else cell_h,
                )
            )
    return boxes


def _tab_bar(current: str) -> tuple[Area, ...]:
    left, right = grid(0, TAB_BAR_HEIGHT, 2, 1)
    return (
        Area(left, "會員", "Member", switch_to_alias=MEMBER_MAIN_ALIAS, tab="main", current=current == "main"),
        Area(right, "更多", "More", switch_to_alias=MEMBER_MORE_ALIAS, tab="more", current=current == "more"),
    )


def _cells(labels: tuple[tuple[str, str, str], ...], boxes: list[Box]) -> tuple[Area, ...]:
    return tuple(
        Area(box, label, english, action=name) for box, (name, label, english) in zip(boxes, labels, strict=True)
    )


MEMBER_MAIN_CELLS = (
    ("barcode", "會員條碼", "Member barcode"),
    ("points", "我的點數", "My points"),
    ("stamps", "集點卡", "Stamp cards"),
    ("coupons", "優惠券", "Coupons"),
)
MEMBER_MORE_CELLS = (
    ("checkin", "每日簽到", "Daily check-in"),
    ("draw", "幸運抽獎", "Lucky draw"),
    ("profile", "會員資料", "My membership"),
    ("news", "最新活動", "What's new"),
    ("stores", "門市資訊", "Our stores"),
    ("help", "說明", "Help"),
)
GUEST_CELLS = (
    ("news", "最新活動", "What's new"),
    ("stores", "門市資訊", "Our stores"),
    ("help", "說明", "Help"),
)


def guest_menu(brand_name: str) -> MenuDefinition:
    """LINE's default menu: joining or binding first, then what anyone may look at."""
    join_box = Box(0, 0, WIDTH, FULL_HEIGHT // 2)
    join = Area(join_box, "加入/綁定會員", "Join or link your membership", action="bind", primary=True)
    return MenuDefinition(
        state=GUEST,
        name="omo-guest",
        chat_bar_text="加入會員",
        height=FULL_HEIGHT,
        areas=(join, *_cells(GUEST_CELLS, grid(FULL_HEIGHT // 2, FULL_HEIGHT - FULL_HEIGHT // 2, 3, 1))),
        brand_name=brand_name,
    )


def member_menu(tab: str, brand_name: str) -> MenuDefinition:
    """One tab of the member menu: the tab bar on top, then its areas: the main tab's four in a 2x2 grid, the "more"
    tab's six in a 3x2 grid."""
    cells = MEMBER_MAIN_CELLS if tab == "main" else MEMBER_MORE_CELLS
    boxes = grid(TAB_BAR_HEIGHT, FULL_HEIGHT - TAB_BAR_HEIGHT, 2 if len(cells) == 4 else 3, 2)
    return MenuDefinition(
        state=MEMBER if tab == "main" else MEMBER_MORE,
        name=f"omo-member-{tab}",
        chat_bar_text="會員選單",
        height=FULL_HEIGHT,
        areas=(*_tab_bar(tab), *_cells(cells, boxes)),
        alias_id=MEMBER_MAIN_ALIAS if tab == "main" else MEMBER_MORE_ALIAS,
        brand_name=brand_name,
    )


def menus(settings: Settings) -> list[MenuDefinition]:
    """Every menu, in the order they are deployed: the member tabs (aliases first) before the guest default."""
    return [
        member_menu("main", settings.brand_name),
        member_menu("more", settings.brand_name),
        guest_menu(settings.brand_name),
    ]
