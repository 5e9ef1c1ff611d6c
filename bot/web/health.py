"""Health check and the landing page."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect
from sqlalchemy import text
from werkzeug.wrappers import Response

from bot.runtime import Runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    runtime: Runtime = current_app.extensions["runtime"]
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/")
def index() -> Response | tuple[str, int]:
    runtime: Runtime = current_app.extensions["runtime"]
    if runtime.settings.dev_line_enabled:
        return redirect("/dev/line")
    return "OMO Member Bot", 200
