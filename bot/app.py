"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask

from bot.runtime import Runtime, set_runtime
from bot.settings import Settings

MAX_REQUEST_BYTES = 2 * 1024 * 1024


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the app from settings (read from the environment by default)."""
    settings = settings or Settings.from_env()
    runtime = runtime or Runtime.build(settings)
    set_runtime(runtime)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    app.extensions["runtime"] = runtime

    from bot.web.health import bp as health_bp
    from bot.web.webhook import bp as webhook_bp

    app.register_blueprint(webhook_bp)
    app.register_blueprint(health_bp)
    if settings.dev_line_enabled:
        from bot.devline import create_devline_blueprint

        app.register_blueprint(create_devline_blueprint(settings), url_prefix="/dev/line")
    return app
