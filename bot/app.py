"""The Flask application factory."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.log_redaction import configure_logging
from bot.runtime import Runtime, set_runtime
from bot.settings import Settings
from bot.sms import build_sms_backend
from bot.web.request_ids import install as install_request_ids
from bot.web.security_headers import install as install_security_headers

MAX_REQUEST_BYTES = 2 * 1024 * 1024


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the app from settings (read from the environment by default)."""
    settings = settings or Settings.from_env()
    runtime = runtime or Runtime.build(settings)
    set_runtime(runtime)
    configure_logging(settings)

    app = Flask(__name__, instance_relative_config=True)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    install_request_ids(app)  # first, so every later hook and log line has the request's id
    install_security_headers(app, settings)
    app.extensions["runtime"] = runtime
    app.extensions["sms"] = build_sms_backend(settings)
    if settings.trusted_proxy_hops:
        # The client's address (the join page's per-IP limit) comes from X-Forwarded-For set by these proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops)  # type: ignore[method-assign]

    from bot.web.admin import bp as admin_bp
    from bot.web.api_coupons import bp as api_coupons_bp
    from bot.web.api_coupons import images as coupon_images_bp
    from bot.web.api_members import bp as api_members_bp
    from bot.web.api_purchases import bp as api_purchases_bp
    from bot.web.api_stamps import bp as api_stamps_bp
    from bot.web.audiences import bp as audiences_bp
    from bot.web.bind import bp as bind_bp
    from bot.web.campaigns import bp as campaigns_bp
    from bot.web.card import bp as card_bp
    from bot.web.console import bp as console_bp
    from bot.web.counter import bp as counter_bp
    from bot.web.health import bp as health_bp
    from bot.web.join import bp as join_bp
    from bot.web.referrals import bp as referrals_bp
    from bot.web.reports import bp as reports_bp
    from bot.web.scratch import bp as scratch_bp
    from bot.web.settings_pages import bp as settings_bp
    from bot.web.staff_auth import bp as staff_auth_bp
    from bot.web.webhook import bp as webhook_bp

    app.register_blueprint(webhook_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(join_bp)
    app.register_blueprint(bind_bp)
    app.register_blueprint(card_bp)
    app.register_blueprint(scratch_bp)
    app.register_blueprint(staff_auth_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(counter_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(audiences_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(campaigns_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(api_members_bp)
    app.register_blueprint(api_coupons_bp)
    app.register_blueprint(coupon_images_bp)
    app.register_blueprint(api_purchases_bp)
    app.register_blueprint(api_stamps_bp)
    if settings.dev_line_enabled:
        from bot.devline import create_devline_blueprint
        from bot.web.dev_sms import bp as dev_sms_bp

        app.register_blueprint(create_devline_blueprint(settings), url_prefix="/dev/line")
        app.register_blueprint(dev_sms_bp)
    return app
