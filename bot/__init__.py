"""OMO Member Bot: a LINE official account as the front door of one member programme."""

from bot.app import create_app

__all__ = ["create_app"]
