"""A request id for every HTTP request: the caller's `X-Request-Id` when it is well formed (a proxy's or the POS's),
otherwise a new one; it is on every log record written while the request is served and echoed in the response."""

from __future__ import annotations

import contextlib
import re
import uuid

from flask import Flask, Response, g, request

from bot.log_redaction import request_id_var

HEADER = "X-Request-Id"
# Letters, digits and . _ : - only, 8 to 64 of them: nothing a log line or a header could be confused by.
WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def _begin() -> None:
    offered = request.headers.get(HEADER, "")
    request_id = offered if WELL_FORMED.fullmatch(offered) else uuid.uuid4().hex
    g.request_id = request_id
    g.request_id_token = request_id_var.set(request_id)


def _echo(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    return response


def _end(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        # Torn down in another context than it began in: nothing of ours to undo there.
        with contextlib.suppress(ValueError):
            request_id_var.reset(token)


def install(app: Flask) -> None:
    """Give each request of `app` its id (call before any other before_request is registered)."""
    app.before_request(_begin)
    app.after_request(_echo)
    app.teardown_request(_end)
