"""Security headers on every response, and the session cookie's flags.

Every response: X-Content-Type-Options nosniff, X-Frame-Options DENY, Referrer-Policy no-referrer (the member pages
carry their signed tokens in the URL), and HSTS when the public address is https. Every HTML page: a
Content-Security-Policy, unless its view set a stricter one (the member card does). The local LINE platform's pages
(/dev/line, never in production) show users' profile pictures and messages' images from anywhere, so they get a
policy that allows any image.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.wrappers import Response

from bot.settings import Settings

HSTS = "max-age=31536000; includeSubDomains"
DEVLINE_BLUEPRINT = "devline"
DEVLINE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src * data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def content_security_policy(settings: Settings) -> str:
    """The pages' policy: only this site's scripts, styles and images; forms post here, and the bind page's code
    form is answered with a redirect to LINE's account-link dialog, which form-action must allow too."""
    from bot.web.bind import dialog_url  # imported here: the bind views import much of the app

    dialog = urlsplit(dialog_url(settings, "", ""))
    form_action = " ".join(dict.fromkeys(["'self'", f"{dialog.scheme}://{dialog.netloc}"]))
    return (
        f"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action {form_action}; "
        "frame-ancestors 'none'"
    )


def install(app: Flask, settings: Settings) -> None:
    """Set the session cookie's flags and add the headers to every response of `app`."""
    https = settings.public_base_url.startswith("https://")
    # Lax, not Strict: the CSRF token lives in the session, and the pages are opened from LINE's chat.
    app.config.update(SESSION_COOKIE_SECURE=https, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    page_policy = content_security_policy(settings)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        if https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if response.mimetype == "text/html" and "Content-Security-Policy" not in headers:
            devline = request.blueprint == DEVLINE_BLUEPRINT
            headers["Content-Security-Policy"] = DEVLINE_CONTENT_SECURITY_POLICY if devline else page_policy
        return response
