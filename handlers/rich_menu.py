"""The member menu's tabs: a `richmenuswitch` tap switches the menu on the phone and sends `action=menu_tab`."""

from __future__ import annotations

from handlers.context import HandlerContext, Replies
from handlers.routing import action


@action("menu_tab")
def menu_tab(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """Nothing to answer: the phone has already shown the other tab."""
    return []
