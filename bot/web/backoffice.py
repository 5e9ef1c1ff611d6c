"""What every back-office page (staff sign-in, counter, admin) shares: the signed-in staff member, roles, CSRF,
the zh-TW / English switch, and one unit of work per request.

A page view is written as `@staff_page("clerk", "manager") def view(uow, staff): ...`: the decorator checks the
session (expired, signed out, password changed, deactivated, wrong role), checks CSRF on every POST, opens the
request's unit of work and hands the view that unit of work and the staff member. Admins may open every page.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import ValidationError, generate_csrf, validate_csrf
from werkzeug.wrappers import Response

from bot.i18n import DEFAULT_LANGUAGE, SUPPORTED, gettext
from bot.refusal_texts import text_for
from bot.services.refusals import Refused
from bot.services.staff.accounts import signed_in_staff
from bot.uow import UnitOfWork, unit_of_work
from bot.web import runtime
from models import Staff

P = ParamSpec("P")
T = TypeVar("T")

SESSION_KEY = "staff"
LANGUAGE_KEY = "lang"
ROLE_NAMES = {"admin": "管理員", "manager": "店長", "clerk": "店員", "marketer": "行銷人員"}
# Every back-office page in the menu: (endpoint, label, roles besides admin). A page whose blueprint is not
# registered is left out, so the menu never offers what is not there.
NAV_PAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("counter.page", "櫃台", ("clerk", "manager")),
    ("referrals.my_link", "我的推薦碼", ("clerk", "manager")),
    ("referrals.report", "推薦成效", ("manager",)),
    ("admin.stores", "門市", ()),
    ("admin.staff_list", "員工", ("manager",)),
    ("admin.api_keys", "POS 金鑰", ()),
    ("admin.audit", "異動紀錄", ("manager",)),
    ("console.segments", "會員分群", ("marketer",)),
    ("audiences.tags", "會員標籤", ("marketer",)),
    ("audiences.rfm", "RFM 分群", ("marketer",)),
    ("audiences.products", "商品目錄", ("marketer",)),
    ("console.coupon_templates", "優惠券設定", ("marketer",)),
    ("settings.stamp_cards", "集點卡設定", ("marketer",)),
    ("settings.tiers", "等級設定", ("marketer",)),
    ("settings.tasks", "任務設定", ("marketer",)),
    ("campaigns.list", "推播活動", ("marketer",)),
    ("reports.dashboard", "會員經營總覽", ("marketer",)),
)
SIGNED_OUT = "請先登入"
SESSION_ENDED = "登入已逾時，請重新登入"
FORM_EXPIRED = "頁面已逾時，請重新整理後再送出"
NOT_ALLOWED = "您的角色無法使用這個頁面"


def language() -> str:
    """The language the staff member picked (zh-TW unless they switched to English)."""
    chosen = session.get(LANGUAGE_KEY)
    return chosen if chosen in SUPPORTED else DEFAULT_LANGUAGE


def t(msgid: str, **params: Any) -> str:
    """A zh-TW text in the staff member's language."""
    return gettext(msgid, language(), **params)


def refusal_text(refused: Refused) -> str:
    """A service's refusal in the staff member's language."""
    return text_for(refused, language())


def start_session(staff: Staff) -> None:
    """Sign this staff member in: a fresh session (no fixation), stamped with their account's session version."""
    chosen = session.get(LANGUAGE_KEY)
    session.clear()
    if chosen:
        session[LANGUAGE_KEY] = chosen
    now = int(time.time())
    session[SESSION_KEY] = {"id": staff.id, "v": staff.session_version, "since": now, "seen": now}
    session.permanent = False


def end_session() -> None:
    """Sign out, keeping only the language."""
    chosen = session.get(LANGUAGE_KEY)
    session.clear()
    if chosen:
        session[LANGUAGE_KEY] = chosen


def _live_identity() -> tuple[int, int] | None:
    """The (staff id, session version) of a session that has not expired, refreshing its idle clock."""
    identity = session.get(SESSION_KEY)
    if not isinstance(identity, dict):
        return None
    settings = runtime().settings
    now = int(time.time())
    try:
        since, seen, staff_id, version = (int(identity[k]) for k in ("since", "seen", "id", "v"))
    except (KeyError, TypeError, ValueError):
        return None
    if now - since > settings.staff_session_hours * 3600 or now - seen > settings.staff_idle_minutes * 60:
        return None
    if now - seen > 60:  # a cookie write a minute is enough to keep the idle clock
        session[SESSION_KEY] = {**identity, "seen": now}
    return staff_id, version


def csrf_is_valid() -> bool:
    """Whether this POST carries the CSRF token given to this browser (a form field or the X-CSRFToken header)."""
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError:
        return False
    return True


def to_sign_in(message: str) -> Response:
    """Back to the sign-in page with a message (already in the staff member's language), then on to where they
    were going."""
    end_session()
    session["notice"] = message
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("staff_auth.sign_in", next=target))


def render_page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """A back-office page with the staff member (if any), their language, the text function and a CSRF token."""
    staff: Staff | None = g.get("staff")
    nav = [page for page in NAV_PAGES if page[0] in current_app.view_functions]
    html = render_template(
        template,
        brand=runtime().settings.brand_name,
        staff=staff,
        nav_pages=nav,
        nav_for_role=staff is not None and any(staff.role == "admin" or staff.role in roles for *_, roles in nav),
        role_names=ROLE_NAMES,
        lang=language(),
        t=t,
        csrf_token=generate_csrf(),
        **context,
    )
    return html, status


def message_page(message: str, status: int) -> tuple[str, int]:
    """A page that only says what went wrong."""
    return render_page("staff/message.html", status, message=message)


def staff_page(
    *roles: str,
) -> Callable[[Callable[Concatenate[UnitOfWork, Staff, P], ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Let the view run for a signed-in staff member with one of `roles` (any role when none are named; admins
    always), inside the request's unit of work; POSTs must carry the CSRF token."""

    def decorator(
        view: Callable[Concatenate[UnitOfWork, Staff, P], ResponseReturnValue],
    ) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            identity = _live_identity()
            if identity is None:
                return to_sign_in(t(SESSION_ENDED) if SESSION_KEY in session else t(SIGNED_OUT))
            if request.method == "POST" and not csrf_is_valid():
                return message_page(t(FORM_EXPIRED), 400)
            with unit_of_work(runtime()) as uow:
                staff = signed_in_staff(uow.session, *identity)
                if staff is not None:
                    g.staff = staff
                    if not roles or staff.role in roles or staff.role == "admin":
                        return view(uow, staff, *args, **kwargs)
                    # rendered while the session is open: the page's header shows the staff member's store
                    return message_page(t(NOT_ALLOWED), 403)
            return to_sign_in(t(SESSION_ENDED))

        return wrapper

    return decorator


def attempt(uow: UnitOfWork, work: Callable[[], T]) -> T | Refused:
    """Run a service call in a savepoint: its result, or its refusal with everything it did undone (so the page can
    show the form again with the message while the rest of the request still commits)."""
    try:
        with uow.session.begin_nested():
            return work()
    except Refused as refused:
        return refused


def client_address() -> str:
    """The client's address (behind TRUSTED_PROXY_HOPS proxies, ProxyFix has already put it here)."""
    return request.remote_addr or "unknown"
