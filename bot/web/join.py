"""GET/POST /members/join: a new shopper joins from LINE, and is bound to their LINE account at once."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from flask import Blueprint, request
from sqlalchemy.exc import IntegrityError

from bot.links import bind_start_url
from bot.services.membership.joining import (
    PRIVACY_VERSION,
    TERMS_VERSION,
    JoinForm,
    PhoneTaken,
    join_with_line,
)
from bot.services.membership.phones import InvalidPhoneNumber, normalise_phone
from bot.services.rate_limits import JOIN_PER_IP, JOIN_PER_LINE_USER
from bot.services.refusals import Refused
from bot.uow import unit_of_work
from bot.web import runtime
from bot.web.pages import (
    FORM_EXPIRED,
    Notice,
    PageRefused,
    csrf_is_valid,
    notice,
    now,
    read_page_link,
    refusal_notice,
    refusal_status,
    refused_page,
    render,
    shopper,
)

log = logging.getLogger(__name__)

bp = Blueprint("join", __name__, url_prefix="/members")

NAME_MAX = 50
EARLIEST_BIRTHDAY = date(1900, 1, 1)

NAME_NEEDED = "請填寫姓名（1 到 50 個字）"
PHONE_INVALID = "請填寫正確的手機號碼，例如 0912-345-678"
BIRTHDAY_INVALID = "生日請填寫過去的日期"
CONSENT_NEEDED = "請閱讀並同意會員條款與隱私權政策"
TOO_MANY_POSTS = "送出次數太多，請過幾分鐘再試"


@bp.get("/join")
def join_page() -> tuple[str, int]:
    token = request.args.get("t", "")
    try:
        _line_user(token)
    except PageRefused as refusal:
        return refused_page(refusal)
    return _form(token, {})


@bp.post("/join")
def join() -> tuple[str, int]:
    token = request.form.get("t", "")
    limiter = runtime().limiter
    # Counted before anything is read or written, so a refused post changes nothing.
    if not limiter.hit(JOIN_PER_IP, request.remote_addr or "unknown"):
        log.info("join page post refused: too many from one address")
        return refused_page(PageRefused(429, notice(TOO_MANY_POSTS)))
    try:
        line_user_id = _line_user(token)
    except PageRefused as refusal:
        return refused_page(refusal)
    if not limiter.hit(JOIN_PER_LINE_USER, line_user_id):
        log.info("join page post refused: too many from one LINE user")
        return refused_page(PageRefused(429, notice(TOO_MANY_POSTS)))
    if not csrf_is_valid(request.form.get("csrf_token")):
        return _form(token, {"form": notice(FORM_EXPIRED)}, 400)
    form, errors = parse_join_form(request.form, today=_today())
    if form is None:
        return _form(token, errors, 422)
    settings = runtime().settings
    try:
        with unit_of_work(runtime()) as uow:
            line_user = shopper(uow.session, line_user_id)
            member = join_with_line(uow.session, line_user, form, now=uow.now, welcome_points=settings.welcome_points)
    except PageRefused as refusal:
        return refused_page(refusal)
    except PhoneTaken as taken:
        return _form(token, {"form": refusal_notice(taken)}, 409, bind_page=_bind_page(line_user_id))
    except Refused as refused:
        return _form(token, {"form": refusal_notice(refused)}, refusal_status(refused))
    except IntegrityError:
        # A concurrent request took this phone, or bound this LINE user, a moment earlier.
        log.info("a join lost a race to a concurrent one")
        return _form(token, {"form": refusal_notice(PhoneTaken())}, 409)
    return render("members/join_done.html", member=member, welcome_points=settings.welcome_points)


def parse_join_form(data: Any, *, today: date) -> tuple[JoinForm | None, dict[str, Notice]]:
    """Check the typed fields; the form, or the zh-TW/English problem of each field."""
    errors: dict[str, Notice] = {}
    name = re.sub(r"\s+", " ", str(data.get("name", ""))).strip()
    if not 1 <= len(name) <= NAME_MAX or not name.isprintable():
        errors["name"] = notice(NAME_NEEDED)
    phone = ""
    try:
        phone = normalise_phone(str(data.get("phone", "")))
    except InvalidPhoneNumber:
        errors["phone"] = notice(PHONE_INVALID)
    birthday: date | None = None
    raw_birthday = str(data.get("birthday", "")).strip().replace("/", "-")
    if raw_birthday:
        try:
            birthday = date.fromisoformat(raw_birthday)
        except ValueError:
            errors["birthday"] = notice(BIRTHDAY_INVALID)
        else:
            if not EARLIEST_BIRTHDAY <= birthday < today:
                errors["birthday"] = notice(BIRTHDAY_INVALID)
    if data.get("consent") != "yes":
        errors["consent"] = notice(CONSENT_NEEDED)
    if errors:
        return None, errors
    return JoinForm(name, phone, birthday, marketing_opt_in=data.get("marketing") == "yes"), errors


def _line_user(token: str) -> str:
    line_user_id = read_page_link("join", token).get("u")
    if not isinstance(line_user_id, str):
        raise PageRefused(400, notice("連結無效，請回到 LINE 重新開啟"))
    with runtime().sessions() as session:
        shopper(session, line_user_id)
    return line_user_id


def _today() -> date:
    return now().astimezone(runtime().settings.tz).date()


def _form(token: str, errors: dict[str, Notice], status: int = 200, **extra: Any) -> tuple[str, int]:
    return render(
        "members/join.html",
        status,
        token=token,
        values=request.form,
        errors=errors,
        terms_version=TERMS_VERSION,
        privacy_version=PRIVACY_VERSION,
        today=_today().isoformat(),
        **extra,
    )


def _bind_page(line_user_id: str) -> str:
    """A link to the bind page (LINE's account-link flow) for a shopper whose phone is already a member's."""
    return bind_start_url(runtime().settings, line_user_id)
