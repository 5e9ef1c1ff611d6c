"""Action handlers reached from keywords, postbacks and the rich menu."""

from __future__ import annotations

from bot.chat import base as messages
from handlers.context import HandlerContext, Replies, is_member
from handlers.routing import action

# Features not built yet: their keywords answer honestly that they are coming, and no menu offers them.
COMING_SOON: tuple[tuple[str, str], ...] = ()


@action("help")
def show_menu(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    return messages.menu(ctx.language, ctx.settings.brand_name, is_member(ctx))


def _register_coming_soon(name: str, label: str) -> None:
    @action(name)
    def coming_soon(ctx: HandlerContext, params: dict[str, str]) -> Replies:
        return messages.coming_soon(ctx.language, label)


for _name, _label in COMING_SOON:
    _register_coming_soon(_name, _label)
