"""Flask blueprints: thin views that open one unit of work, call one service and map its refusals to HTTP."""

from __future__ import annotations

from flask import current_app

from bot.runtime import Runtime


def runtime() -> Runtime:
    """The app's runtime (settings, database, clock, LINE client, rate limiter)."""
    found: Runtime = current_app.extensions["runtime"]
    return found
