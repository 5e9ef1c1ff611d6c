"""GET/POST /members/join: a new shopper joins from LINE, and is bound to their LINE account at once."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from flask import Blueprint, request
from sqlalchemy.exc import IntegrityError

from bot.db import transaction
from bot.i18n import _, language_for
from bot.line_client import LineDeliveryError
from bot.services.membership.account_link import record_link_token
from bot.services.membership.joining import (
    PHONE_TAKEN,
    PRIVACY_VERSION,
    TERMS_VERSION,
    JoinForm,
    PhoneTaken,
    join_with_line,
)
from bot.services.membership.members import MemberError
from bot.services.membership.phones import InvalidPhoneNumber, normalise_phone
from bot.services.messaging import outbox
from bot.web.links import bind_url
from bot.web.pages import (
    FORM_EXPIRED,
    Notice,
    PageRefused,
    csrf_is_valid,
    notice,
    now,
    read_page_link,
    refused_page,
    render,
    runtime,
    shopper,
)
from models import LineUser, Member

log = logging.getLogger(__name__)

bp = Blueprint("join", __name__, url_prefix="/members")

NAME_MAX = 50
EARLIEST_BIRTHDAY = date(1900, 1, 1)

NAME_NEEDED = "請填寫姓名（1 到 50 個字）"
PHONE_INVALID = "請填寫正確的手機號碼，例如 0912-345-678"
BIRTHDAY_INVALID = "生日請填寫過去的日期"
CONSENT_NEEDED = "請閱讀並同意會員條款與隱私權政策"


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
    try:
        line_user_id = _line_user(token)
    except PageRefused as refusal:
        return refused_page(refusal)
    if not csrf_is_valid(request.form.get("csrf_token")):
        return _form(token, {"form": notice(FORM_EXPIRED)}, 400)
    form, errors = parse_join_form(request.form, today=_today())
    if form is None:
        return _form(token, errors, 422)
    settings = runtime().settings
    try:
        with transaction(runtime().sessions) as session:
            line_user = shopper(session, line_user_id)
            member = join_with_line(session, line_user, form, now=now(), welcome_points=settings.welcome_points)
            pushes = outbox.queue_push(session, line_user_id, _welcome(line_user, member, settings.welcome_points))
    except PageRefused as refusal:
        return refused_page(refusal)
    except PhoneTaken as taken:
        return _form(token, {"form": notice(taken.message)}, 409, bind_page=_bind_page(line_user_id))
    except MemberError as refused:
        return _form(token, {"form": notice(refused.message)}, 409)
    except IntegrityError:
        # A concurrent request took this phone, or bound this LINE user, a moment earlier.
        log.info("a join lost a race to a concurrent one")
        return _form(token, {"form": notice(PHONE_TAKEN)}, 409)
    from bot.tasks import apply_rich_menu, deliver_message

    for message in pushes:
        deliver_message(message.id)
    apply_rich_menu(line_user_id)  # the member menu, now that they are one
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


def _bind_page(line_user_id: str) -> str | None:
    """A link to the bind page (LINE's account-link flow) for a shopper whose phone is already a member's."""
    try:
        link_token = runtime().line.issue_link_token(line_user_id)
    except LineDeliveryError as exc:
        log.warning("no link token to offer the bind page: %s", exc)
        return None
    with transaction(runtime().sessions) as session:
        line_user = shopper(session, line_user_id)
        record_link_token(session, line_user, link_token, now())
    return bind_url(runtime().settings, line_user_id, link_token)


def _welcome(line_user: LineUser, member: Member, welcome_points: int) -> list[dict[str, Any]]:
    language = language_for(line_user.language)
    brand = runtime().settings.brand_name
    text = _("歡迎加入 {brand} 會員！你的會員編號是 {number}。", language, brand=brand, number=member.member_number)
    if welcome_points > 0:
        text += "\n" + _("已送上入會禮 {points} 點。", language, points=welcome_points)
    return [{"type": "text", "text": text}]
