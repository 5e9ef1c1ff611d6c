"""Action handlers reached from keywords, postbacks and the rich menu."""

from __future__ import annotations

from bot.chat import base as messages
from handlers.context import HandlerContext, Replies
from handlers.routing import action

# Features whose issues are still open: they answer honestly that they are not there yet.
_BUILT = {"bind", "points", "barcode", "coupons", "stamps"}
_NOT_YET_OPEN = {label: name for name, label in messages.MENU_ACTIONS if name not in _BUILT}


@action("help")
def show_menu(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    return messages.menu(ctx.language, ctx.settings.brand_name)


def _register_coming_soon(name: str, label: str) -> None:
    @action(name)
    def coming_soon(ctx: HandlerContext, params: dict[str, str]) -> Replies:
        return messages.coming_soon(ctx.language, label)


for _label, _name in _NOT_YET_OPEN.items():
    _register_coming_soon(_name, _label)
