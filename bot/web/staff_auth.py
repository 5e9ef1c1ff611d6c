"""Staff sign-in and sign-out, the back office's home, a staff member's own password, the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from bot.services.refusals import Reason, Refused
from bot.services.staff.accounts import MAX_PASSWORD_LENGTH, change_own_password, sign_in
from bot.uow import UnitOfWork, unit_of_work
from bot.web import runtime
from bot.web.backoffice import (
    FORM_EXPIRED,
    LANGUAGE_KEY,
    attempt,
    client_address,
    csrf_is_valid,
    end_session,
    message_page,
    refusal_text,
    render_page,
    staff_page,
    start_session,
    t,
)
from models import Staff

bp = Blueprint("staff_auth", __name__, url_prefix="/staff")

MAX_FIELD = 200
SIGNED_OUT = "您已登出"
PASSWORD_CHANGED = "密碼已更新"
PASSWORDS_DIFFER = "兩次輸入的新密碼不一致"
PASSWORD_TOO_LONG = "密碼最多 {length} 個字元"
# Werkzeug's own pages for these are in English only: the back office answers in the staff member's language.
HTTP_ERRORS = {
    404: ("not_found", "找不到這個頁面"),
    405: ("method_not_allowed", "這個網址不能直接開啟，請回到頁面上操作"),
    413: ("too_large", "送出的資料太大，請縮短後再送出"),
}
BACK_OFFICE_PATHS = ("/staff/", "/counter")
# Where each role starts after signing in (admins see the back office's home).
HOME_ENDPOINT = {"clerk": "counter.page", "manager": "counter.page"}


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no host, not `//host`) is followed after sign-in; never one with a
    control character or an odd space (a CR LF in a Location header is a 500, not a redirect)."""
    if (
        not target
        or not target.isprintable()
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _home_url(staff: Staff) -> str:
    endpoint = HOME_ENDPOINT.get(staff.role, "staff_auth.home")
    return url_for(endpoint if endpoint in current_app.view_functions else "staff_auth.home")


@bp.route("/login", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> ResponseReturnValue:
    code = (request.form.get("code") or "")[:64]
    if request.method == "GET":
        return render_page("staff/login.html", notice=session.pop("notice", None), code="")
    if not csrf_is_valid():
        return render_page("staff/login.html", 400, error=t(FORM_EXPIRED), code=code)
    password = (request.form.get("password") or "")[:MAX_FIELD]
    with unit_of_work(runtime()) as uow:
        result = attempt(
            uow, lambda: sign_in(uow.session, runtime().limiter, code, password, client_address(), uow.now)
        )
        if isinstance(result, Refused):
            status = 429 if result.reason is Reason.SIGN_IN_LOCKED else 401
            return render_page("staff/login.html", status, error=refusal_text(result), code=code)
        start_session(result)
        target = _safe_next(request.args.get("next")) or _home_url(result)
    return redirect(target)


@bp.post("/logout")
def sign_out() -> ResponseReturnValue:
    if not csrf_is_valid():
        return message_page(t(FORM_EXPIRED), 400)
    end_session()
    session["notice"] = t(SIGNED_OUT)
    return redirect(url_for("staff_auth.sign_in"))


@bp.get("/")
@staff_page()
def home(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    return render_page("staff/home.html")


@bp.route("/password", methods=["GET", "POST"])
@staff_page()
def password(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    if request.method == "GET":
        return render_page("staff/password.html")
    current = (request.form.get("current") or "")[:MAX_FIELD]
    new = request.form.get("new") or ""
    if new != (request.form.get("repeat") or ""):
        return render_page("staff/password.html", 422, error=t(PASSWORDS_DIFFER))
    if len(new) > MAX_PASSWORD_LENGTH:  # refused, not cut: the admin pages' rule too
        return render_page("staff/password.html", 422, error=t(PASSWORD_TOO_LONG, length=MAX_PASSWORD_LENGTH))
    result = attempt(uow, lambda: change_own_password(uow.session, staff, current, new, uow.now))
    if isinstance(result, Refused):
        return render_page("staff/password.html", 422, error=refusal_text(result))
    start_session(result)  # this browser stays signed in; every other session of this account ends
    return render_page("staff/password.html", notice=t(PASSWORD_CHANGED))


@bp.get("/language/<code>")
def switch_language(code: str) -> ResponseReturnValue:
    if code in ("zh-TW", "en"):
        session[LANGUAGE_KEY] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("staff_auth.sign_in"))


@bp.app_errorhandler(NotFound)
@bp.app_errorhandler(MethodNotAllowed)
@bp.app_errorhandler(RequestEntityTooLarge)
def http_error(error: HTTPException) -> ResponseReturnValue:
    """A wrong address, method or size under the back office: a page (the counter's actions: JSON) saying so in the
    staff member's language; anywhere else Werkzeug's answer is kept."""
    if not request.path.startswith(BACK_OFFICE_PATHS) or error.code not in HTTP_ERRORS:
        return error
    reason, message = HTTP_ERRORS[error.code]
    allow = {name: value for name, value in error.get_headers() if name == "Allow"}  # a 405 names what works
    if request.method == "POST" and request.path.startswith("/counter/"):
        return jsonify({"ok": False, "error": reason, "message": t(message)}), error.code, allow
    body, status = message_page(t(message), error.code)
    return body, status, allow
