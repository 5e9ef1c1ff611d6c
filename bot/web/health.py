"""Health check and the landing page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, request
from sqlalchemy import text
from werkzeug.wrappers import Response

from bot.runtime import Runtime
from bot.services.messaging.backlog import backlog_report

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, Any]:
    """`ok` when the database answers; with `?detail=1` also the delivery backlog (counts only, no personal data)."""
    runtime: Runtime = current_app.extensions["runtime"]
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    if request.args.get("detail") != "1":
        return {"status": "ok"}
    from bot.tasks import queue_depth  # the tasks module builds the queue; only the detail needs it

    with runtime.sessions() as session:
        report = backlog_report(session, runtime.clock.now())
    return {"status": "ok", "queue_depth": queue_depth(), "line_circuit": runtime.line.breaker.state, **report}


@bp.get("/")
def index() -> Response | tuple[str, int]:
    runtime: Runtime = current_app.extensions["runtime"]
    if runtime.settings.dev_line_enabled:
        return redirect("/dev/line")
    return "OMO Member Bot", 200
