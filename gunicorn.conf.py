"""Gunicorn's settings for the Procfile's web process (`gunicorn -c gunicorn.conf.py`): its error and access logs go
to stdout through the app's masking filter and JSON formatter (bot.log_redaction), and the access log leaves out
query strings and referrers, where the signed links' tokens travel."""

from __future__ import annotations

import os
from pathlib import Path

_APP_ENV = os.environ.get("APP_ENV", "production").strip() or "production"
_FORMATTER = "bot.log_redaction.TextFormatter" if _APP_ENV == "development" else "bot.log_redaction.JsonFormatter"

accesslog = "-"
errorlog = "-"
# Client, method, path without its query string, status, bytes, milliseconds, user agent and the request's id.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "bot.log_redaction.RedactingFilter"}},
    "formatters": {"app": {"()": _FORMATTER}},
    "handlers": {
        "stdout": {"class": "bot.log_redaction.StdoutHandler", "formatter": "app", "filters": ["redact"]},
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
    },
}

# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections over them. On one shared
# socket the first worker to wake takes a burst of connections, and kept-alive clients (POS counters, LINE) stay
# with it: with 50 counters the workers held 19, 19, 6 and 6 connections, and the busiest workers' counters waited
# three times as long (POS bench p99 320-450 ms → 250-330 ms). The cost: connections still waiting in the accept
# queue of a worker that stops are reset (clients retry; Linux >= 5.14 hands them to a sibling with
# net.ipv4.tcp_migrate_req=1), a second gunicorn started on the same port shares it instead of failing, and the
# master holds no socket to hand over: no USR2 binary upgrade, no systemd socket activation. GUNICORN_REUSE_PORT=0
# turns it off for such a setup.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1").strip() != "0"

# Gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): two deployments on one
# host would share it. The Procfile turns it off (--no-control-socket); run without that flag, each checkout gets its
# own under instance/ (GUNICORN_CONTROL_SOCKET names another).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or str(
    Path(__file__).resolve().parent / "instance" / "gunicorn.ctl"
)
