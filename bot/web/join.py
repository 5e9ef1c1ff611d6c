"""GET/POST /members/join: a new shopper joins from LINE, and is bound to their LINE account at once.

Two steps: the form (name, phone, birthday, consent) texts a code to the phone, and only the right code creates the
member. Every valid phone gets the same answer at the same speed (the text goes out on a sender thread): a member's
phone is told by SMS that it already is one, and its code links that membership through LINE's account-link dialog.
The form's data waits for the code in a signed, expiring step token, never in anything the browser could alter.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from flask import Blueprint, redirect, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from bot.line_client import LineDeliveryError
from bot.links import sign_link
from bot.services.membership.account_link import AccountLinkRefused
from bot.services.membership.joining import (
    PRIVACY_VERSION,
    TERMS_VERSION,
    JoinForm,
    PhoneTaken,
    join_with_verified_phone,
    link_instead,
)
from bot.services.membership.phones import InvalidPhoneNumber, mask_phone, normalise_phone
from bot.services.membership.verification import VerificationRefused, request_code, verify_code
from bot.services.rate_limits import JOIN_PER_IP, JOIN_PER_LINE_USER
from bot.services.refusals import Refused
from bot.sms import already_member_text, join_code_text, send_in_background
from bot.uow import unit_of_work
from bot.web import runtime
from bot.web.bind import BIND_UNAVAILABLE, dialog_url, sms_backend
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
CODE_STEP = "join-code"

NAME_NEEDED = "請填寫姓名（1 到 50 個字）"
PHONE_INVALID = "請填寫正確的手機號碼，例如 0912-345-678"
BIRTHDAY_INVALID = "生日請填寫過去的日期"
CONSENT_NEEDED = "請閱讀並同意會員條款與隱私權政策"
TOO_MANY_POSTS = "送出次數太多，請過幾分鐘再試"
LINK_INVALID = "連結無效，請回到 LINE 重新開啟"
CODE_SENT = "如果號碼正確，您會收到簡訊驗證碼"


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
    """Step 1: the form. Checked, it texts a code to the phone and asks for it; nothing is created yet."""
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
            issued = request_code(
                uow.session,
                secret_key=settings.secret_key,
                limiter=limiter,
                line_user=shopper(uow.session, line_user_id),
                phone_e164=form.phone_e164,
                now=uow.now,
                members_only=False,
            )
            verification_id = issued.verification.id
    except PageRefused as refusal:
        return refused_page(refusal)
    except VerificationRefused as refused:
        return _form(token, {"phone": refusal_notice(refused)}, refusal_status(refused))
    assert issued.code is not None  # every phone's code is texted on the join page
    # The same answer, as fast, for any phone: the text (whichever it is) goes out after the answer.
    text = already_member_text if issued.phone_is_members else join_code_text
    send_in_background(
        sms_backend(), form.phone_e164, text(settings.brand_name, issued.code), reference=verification_id
    )
    step = sign_link(settings, CODE_STEP, _step_payload(line_user_id, verification_id, form))
    return _code_form(token, step, mask_phone(form.phone_e164), {})


@bp.post("/join/verify")
def verify() -> Response | tuple[str, int]:
    """Step 2: the code. Right, and the member is created and bound; or, for a phone that already is a member's,
    the shopper goes through LINE's account-link dialog to that membership."""
    token, step_token = request.form.get("t", ""), request.form.get("v", "")
    try:
        line_user_id = _line_user(token)
        step = read_page_link(CODE_STEP, step_token)
    except PageRefused as refusal:
        return refused_page(refusal)
    masked = str(request.form.get("masked", ""))[:20]
    if not csrf_is_valid(request.form.get("csrf_token")):
        return _code_form(token, step_token, masked, {"form": notice(FORM_EXPIRED)}, 400)
    form = _form_of(step)
    if step.get("u") != line_user_id or form is None or not isinstance(step.get("v"), int):
        # A code step signed for another LINE user's page: refuse, without trying the code.
        log.warning("a code step for another LINE user was posted to a join page")
        return refused_page(PageRefused(403, notice(LINK_INVALID)))
    verification_id: int = step["v"]
    settings = runtime().settings
    code_refused: VerificationRefused | None = None
    member = None
    try:
        with unit_of_work(runtime()) as uow:
            line_user = shopper(uow.session, line_user_id)
            try:
                verification = verify_code(
                    uow.session,
                    secret_key=settings.secret_key,
                    verification_id=verification_id,
                    line_user=line_user,
                    code=request.form.get("code", ""),
                    now=uow.now,
                )
            except VerificationRefused as refused:
                # Committed on purpose: the wrong try counts against the code.
                code_refused = refused
            else:
                member = join_with_verified_phone(
                    uow.session,
                    line_user,
                    form,
                    verification,
                    now=uow.now,
                    welcome_points=settings.welcome_points,
                    tz=settings.tz,
                )
    except PageRefused as refusal:
        return refused_page(refusal)
    except Refused as refused:
        return _code_form(token, step_token, masked, {"form": refusal_notice(refused)}, refusal_status(refused))
    except IntegrityError:
        # A concurrent request took this phone, or bound this LINE user, a moment earlier.
        log.info("a join lost a race to a concurrent one")
        return refused_page(PageRefused(409, refusal_notice(PhoneTaken())))
    if code_refused is not None:
        errors = {"code": refusal_notice(code_refused)}
        return _code_form(token, step_token, masked, errors, refusal_status(code_refused))
    if member is not None:
        return render("members/join_done.html", member=member, welcome_points=settings.welcome_points)
    return _link_instead(line_user_id, verification_id)


def _link_instead(line_user_id: str, verification_id: int) -> Response | tuple[str, int]:
    """The proven phone is a member's: on to LINE's account-link dialog for that membership. LINE is asked for
    the link token with no transaction open."""
    try:
        link_token = runtime().line.issue_link_token(line_user_id)
    except LineDeliveryError as exc:
        log.warning("no link token for a member's phone proven on the join page: %s", exc)
        return refused_page(PageRefused(503, notice(BIND_UNAVAILABLE)))
    try:
        with unit_of_work(runtime()) as uow:
            line_user = shopper(uow.session, line_user_id)
            nonce = link_instead(uow.session, line_user, verification_id, link_token, uow.now).nonce
    except PageRefused as refusal:
        return refused_page(refusal)
    except AccountLinkRefused as refused:
        return refused_page(PageRefused.because(refused))
    return redirect(dialog_url(runtime().settings, link_token, nonce), code=302)


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


def _step_payload(line_user_id: str, verification_id: int, form: JoinForm) -> dict[str, Any]:
    birthday = form.birthday.isoformat() if form.birthday else None
    return {
        "u": line_user_id,
        "v": verification_id,
        "n": form.name,
        "p": form.phone_e164,
        "b": birthday,
        "m": form.marketing_opt_in,
    }


def _form_of(step: dict[str, Any]) -> JoinForm | None:
    """The checked form a signed step token carries (None if it carries no form)."""
    name, phone, birthday, marketing = step.get("n"), step.get("p"), step.get("b"), step.get("m")
    if not isinstance(name, str) or not isinstance(phone, str) or not isinstance(marketing, bool):
        return None
    if birthday is not None and not isinstance(birthday, str):
        return None
    return JoinForm(name, phone, date.fromisoformat(birthday) if birthday else None, marketing_opt_in=marketing)


def _code_form(token: str, step: str, masked: str, errors: dict[str, Notice], status: int = 200) -> tuple[str, int]:
    context: dict[str, Any] = {"token": token, "step": step, "masked": masked, "errors": errors}
    urls = {"verify_url": url_for("join.verify"), "again_url": url_for("join.join_page", t=token)}
    return render("members/join_code.html", status, sent=notice(CODE_SENT), **urls, **context)
