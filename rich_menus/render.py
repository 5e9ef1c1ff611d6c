"""Draw each rich menu's image from its definition with Pillow: zh-TW labels with English under them, a simple
icon per action, the brand colour, and the member menu's tab bar. PNG, well under LINE's 1 MB."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from rich_menus.definitions import Area, Box, MenuDefinition

MAX_IMAGE_BYTES = 1024 * 1024
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"))
FONT_FILES = {"bold": "NotoSansCJK-Bold.ttc", "regular": "NotoSansCJK-Regular.ttc"}
TRADITIONAL_CHINESE_FACE = 3  # the collection's faces: JP, KR, SC, TC, HK

BACKGROUND = (250, 250, 247)
LINE_COLOUR = (226, 226, 222)
TEXT = (51, 51, 51)
SUBTEXT = (120, 120, 120)
TAB_IDLE = (238, 238, 234)
WHITE = (255, 255, 255)

RGB = tuple[int, int, int]


class RenderError(RuntimeError):
    """The image cannot be drawn (no CJK font) or breaks LINE's limits."""


def hex_colour(value: str) -> RGB:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@cache
def font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    for directory in FONT_DIRS:
        path = directory / FONT_FILES[weight]
        if path.is_file():
            return ImageFont.truetype(str(path), size, index=TRADITIONAL_CHINESE_FACE)
    raise RenderError("no Noto Sans CJK font found (install fonts-noto-cjk) to draw the rich menus' Chinese labels")


def render(menu: MenuDefinition, brand_colour: str, logo_path: str | None = None) -> bytes:
    """The menu's image as PNG bytes, sized as the menu."""
    colour = hex_colour(brand_colour)
    image = Image.new("RGB", menu.size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    for area in menu.areas:
        if area.switch_to_alias is not None:
            _draw_tab(draw, area, colour)
        elif area.primary:
            _draw_primary(image, draw, area, colour, menu.brand_name, logo_path)
        else:
            _draw_cell(draw, area, colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    data = buffer.getvalue()
    if len(data) > MAX_IMAGE_BYTES:
        raise RenderError(f"{menu.name}: the image is {len(data)} bytes, LINE takes at most {MAX_IMAGE_BYTES}")
    return data


def _centre_text(draw: ImageDraw.ImageDraw, centre_x: float, top: float, text: str, face: ImageFont.FreeTypeFont,
                 fill: RGB) -> float:  # fmt: skip
    """Draw text centred on centre_x with its top at `top`; the bottom of the drawn text."""
    left, upper, right, lower = draw.textbbox((0, 0), text, font=face)
    draw.text((centre_x - (right - left) / 2 - left, top - upper), text, font=face, fill=fill)
    return top + (lower - upper)


def _labels(draw: ImageDraw.ImageDraw, box: Box, top: float, area: Area, zh_size: int, en_size: int,
            fill: RGB, sub: RGB) -> None:  # fmt: skip
    centre = box.x + box.width / 2
    bottom = _centre_text(draw, centre, top, area.label, font("bold", zh_size), fill)
    _centre_text(draw, centre, bottom + en_size * 0.55, area.english, font("regular", en_size), sub)


def _draw_cell(draw: ImageDraw.ImageDraw, area: Area, colour: RGB) -> None:
    box = area.bounds
    draw.rectangle((box.x, box.y, box.x + box.width - 1, box.y + box.height - 1), outline=LINE_COLOUR, width=3)
    icon_size = min(box.width, box.height) * 0.30
    block = icon_size + 60 + 110 + 40 + 56
    top = box.y + (box.height - block) / 2
    cx = box.x + box.width / 2
    ICONS.get(area.action or "", _icon_dot)(draw, cx, top + icon_size / 2, icon_size, colour)
    _labels(draw, box, top + icon_size + 60, area, 110, 56, TEXT, SUBTEXT)


def _draw_primary(image: Image.Image, draw: ImageDraw.ImageDraw, area: Area, colour: RGB, brand_name: str,
                  logo_path: str | None) -> None:  # fmt: skip
    box = area.bounds
    draw.rectangle((box.x, box.y, box.x + box.width - 1, box.y + box.height - 1), fill=colour)
    if brand_name:
        draw.text((box.x + 70, box.y + 55), brand_name, font=font("bold", 72), fill=WHITE)
    if logo_path:
        with Image.open(logo_path) as opened:
            logo = opened.convert("RGBA")
            logo.thumbnail((260, 260))
            image.paste(logo, (box.x + box.width - logo.width - 70, box.y + 55), logo)
    block = 150 + 40 + 64
    _labels(draw, box, box.y + (box.height - block) / 2 + 30, area, 150, 64, WHITE, WHITE)


def _draw_tab(draw: ImageDraw.ImageDraw, area: Area, colour: RGB) -> None:
    box = area.bounds
    fill = colour if area.current else TAB_IDLE
    text = WHITE if area.current else SUBTEXT
    draw.rectangle((box.x, box.y, box.x + box.width - 1, box.y + box.height - 1), fill=fill)
    if area.current:  # a white underline marks the tab the phone shows
        draw.rectangle((box.x + box.width * 0.35, box.y + box.height - 22, box.x + box.width * 0.65,
                        box.y + box.height - 10), fill=WHITE)  # fmt: skip
    block = 88 + 20 + 44
    _labels(draw, box, box.y + (box.height - block) / 2 - 12, area, 88, 44, text, text)


# Icons: simple shapes in the brand colour, centred at (cx, cy), about `size` pixels across.
Icon = Callable[[ImageDraw.ImageDraw, float, float, float, RGB], None]


def _icon_dot(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, colour: RGB) -> None:
    r = size / 2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)


def _circle_glyph(glyph: str) -> Icon:
    def icon(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, colour: RGB) -> None:
        _icon_dot(draw, cx, cy, size, colour)
        face = font("bold", int(size * 0.62))
        left, upper, right, lower = draw.textbbox((0, 0), glyph, font=face)
        draw.text((cx - (right - left) / 2 - left, cy - (lower - upper) / 2 - upper), glyph, font=face, fill=WHITE)

    return icon


def _icon_barcode(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, colour: RGB) -> None:
    widths = (3, 1, 2, 1, 3, 2, 1, 1, 3, 1, 2, 3, 1, 2)
    unit = size / (sum(widths) * 1.6)
    x = cx - size / 2
    for index, width in enumerate(widths):
        if index % 2 == 0:
            draw.rectangle((x, cy - size * 0.38, x + width * unit * 1.6, cy + size * 0.38), fill=colour)
        x += width * unit * 1.6


def _icon_stamps(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, colour: RGB) -> None:
    r = size / 7.5
    for row in range(2):
        for column in range(3):
            x, y = cx + (column - 1) * size / 3, cy + (row - 0.5) * size / 2.6
            if row == 1 and column == 2:
                draw.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=8)
            else:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _icon_coupon(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, colour: RGB) -> None:
    w, h = size * 0.55, size * 0.32
    draw.rounded_rectangle((cx - w, cy - h, cx + w, cy + h), radius=size * 0.06, fill=colour)
    notch = size * 0.09
    for x in (cx - w, cx + w):
        draw.ellipse((x - notch, cy - notch, x + notch, cy + notch), fill=BACKGROUND)
    for step in range(-2, 3):
        y = cy + step * h / 3
        draw.rectangle((cx + w * 0.35 - 3, y - 8, cx + w * 0.35 + 3, y + 8), fill=BACKGROUND)


def _icon_profile(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, colour: RGB) -> None:
    head = size * 0.2
    draw.ellipse((cx - head, cy - size * 0.45, cx + head, cy - size * 0.45 + 2 * head), fill=colour)
    draw.pieslice((cx - size * 0.4, cy + size * 0.02, cx + size * 0.4, cy + size * 0.82), 180, 360, fill=colour)


def _icon_store(draw: ImageDraw.ImageDraw, cx: float, cy: float, size: float, colour: RGB) -> None:
    r = size * 0.3
    top = cy - size * 0.45
    draw.ellipse((cx - r, top, cx + r, top + 2 * r), fill=colour)
    draw.polygon(((cx - r * 0.86, top + r * 1.5), (cx + r * 0.86, top + r * 1.5), (cx, cy + size * 0.48)), fill=colour)
    inner = r * 0.42
    draw.ellipse((cx - inner, top + r - inner, cx + inner, top + r + inner), fill=BACKGROUND)


ICONS: dict[str, Icon] = {
    "barcode": _icon_barcode,
    "points": _circle_glyph("P"),
    "stamps": _icon_stamps,
    "coupons": _icon_coupon,
    "profile": _icon_profile,
    "news": _circle_glyph("!"),
    "stores": _icon_store,
    "help": _circle_glyph("?"),
    "checkin": _circle_glyph("✓"),
    "draw": _circle_glyph("★"),
}


def render_all(menus: list[MenuDefinition], brand_colour: str, logo_path: str | None = None) -> dict[str, bytes]:
    """Each menu's PNG by its state."""
    return {menu.state: render(menu, brand_colour, logo_path) for menu in menus}
