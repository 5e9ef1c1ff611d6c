"""A local stand-in of the LINE platform, served under /dev/line when no LINE channel is configured.

The bot's LINE client sends every Messaging API call here; the stand-in answers as LINE does and refuses what
LINE refuses (reply tokens, retry keys, message and recipient limits, rich menu rules). Users played by a
developer (on the chat page at /dev/line) or by tests (through `DevLinePlatform`) follow, write and tap, and the
platform posts signed webhooks to the bot's /callback.
"""

from __future__ import annotations

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from bot.devline.api import register_api
from bot.devline.audience import register_audiences
from bot.devline.page import register_page
from bot.devline.platform import Delivery, DevLinePlatform
from bot.devline.richmenu import register_rich_menus
from bot.settings import Settings

__all__ = ["Delivery", "DevLinePlatform", "create_devline_blueprint"]


def create_devline_blueprint(settings: Settings) -> Blueprint:
    """The stand-in's blueprint (register it at /dev/line); its platform goes to app.extensions["devline"]."""
    platform = DevLinePlatform(settings.line_channel_secret, settings.public_base_url.rstrip("/") + "/callback")
    bp = Blueprint(
        "devline",
        __name__,
        template_folder="../templates",
        static_folder="../static/devline",
        static_url_path="/static",
    )

    def install(state: BlueprintSetupState) -> None:
        state.app.extensions["devline"] = platform

    bp.record_once(install)
    register_api(bp, platform, settings.line_channel_access_token)
    register_rich_menus(bp, platform)
    register_audiences(bp, platform)
    register_page(bp, platform, settings)
    return bp
