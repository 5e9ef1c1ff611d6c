"""/members/bind: an existing member proves their phone with an SMS code, then LINE's account-link dialog binds."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, redirect, request, url_for
from werkzeug.wrappers import Response

from bot.line_client import LineDeliveryError
from bot.links import bind_url, sign_link
from bot.services.membership.account_link import (
    AccountLinkRefused,
    check_link_token,
    record_link_token,
    start_account_link,
)
from bot.services.membership.phones import InvalidPhoneNumber, mask_phone, normalise_phone
from bot.services.membership.verification import (
    VerificationRefused,
    request_code,
    verify_code,
)
from bot.settings import Settings
from bot.sms import SmsBackend, send_in_background, verification_text
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

bp = Blueprint("bind", __name__, url_prefix="/members")

LINE_ACCOUNT_LINK_DIALOG = "https://access.line.me/dialog/bot/accountLink"
CODE_STEP = "bind-code"

LINK_INVALID = "連結無效，請回到 LINE 重新開啟"
PHONE_INVALID = "請填寫正確的手機號碼，例如 0912-345-678"
BIND_UNAVAILABLE = "目前無法開啟綁定頁面，請稍後再試，或請門市人員提供綁定碼"
CODE_SENT_IF_MEMBER = "如果此號碼是會員，您會收到簡訊驗證碼"


@dataclass(frozen=True)
class BindPage:
    """The signed link's LINE user and the LINE link token it carries."""

    token: str
    line_user_id: str
    link_token: str


def dialog_url(settings: Settings, link_token: str, nonce: str) -> str:
    """LINE's account-link dialog (or the local LINE platform's stand-in of it) for this link token and nonce."""
    base = LINE_ACCOUNT_LINK_DIALOG
    if settings.dev_line_enabled:
        base = f"{settings.public_base_url}/dev/line/dialog/bot/accountLink"
    return f"{base}?{urlencode({'linkToken': link_token, 'nonce': nonce})}"


@bp.get("/bind/start")
def start_binding() -> Response | tuple[str, int]:
    """The chat's "綁定既有會員" button: ask LINE for an account-link token now (no transaction is open while LINE
    answers), record it, and go on to the bind page, which works for the token's 10 minutes."""
    try:
        line_user_id = read_page_link("bind-start", request.args.get("t", "")).get("u")
        if not isinstance(line_user_id, str):
            raise PageRefused(400, notice(LINK_INVALID))
        with runtime().sessions() as session:
            shopper(session, line_user_id)
    except PageRefused as refusal:
        return refused_page(refusal)
    try:
        link_token = runtime().line.issue_link_token(line_user_id)
    except LineDeliveryError as exc:
        log.warning("no link token for the bind page: %s", exc)
        return refused_page(PageRefused(503, notice(BIND_UNAVAILABLE)))
    with unit_of_work(runtime()) as uow:
        record_link_token(uow.session, shopper(uow.session, line_user_id), link_token, uow.now)
    page = urlsplit(bind_url(runtime().settings, line_user_id, link_token))
    return redirect(f"{page.path}?{page.query}", 303)


@bp.get("/bind")
def bind_page() -> tuple[str, int]:
    try:
        page = _open(request.args.get("t", ""))
    except PageRefused as refusal:
        return refused_page(refusal)
    return _phone_form(page, {})


@bp.post("/bind/code")
def send_code() -> tuple[str, int]:
    """Step 1: the phone. A code is texted only to a member's phone, but every number gets the same answer."""
    try:
        page = _open(request.form.get("t", ""))
    except PageRefused as refusal:
        return refused_page(refusal)
    if not csrf_is_valid(request.form.get("csrf_token")):
        return _phone_form(page, {"form": notice(FORM_EXPIRED)}, 400)
    try:
        phone = normalise_phone(request.form.get("phone", ""))
    except InvalidPhoneNumber:
        return _phone_form(page, {"phone": notice(PHONE_INVALID)}, 422)
    settings = runtime().settings
    try:
        with unit_of_work(runtime()) as uow:
            session = uow.session
            line_user = shopper(session, page.line_user_id)
            issued = request_code(
                session,
                secret_key=settings.secret_key,
                limiter=runtime().limiter,
                line_user=line_user,
                phone_e164=phone,
                now=uow.now,
            )
            verification_id = issued.verification.id
    except VerificationRefused as refused:
        return _phone_form(page, {"phone": refusal_notice(refused)}, refusal_status(refused))
    if issued.code is not None:
        # Sent after the answer, on a sender thread: the page takes as long for a member's phone as for any other,
        # whatever the gateway does (a failure is logged there; the shopper can ask again).
        send_in_background(
            sms_backend(), phone, verification_text(settings.brand_name, issued.code), reference=verification_id
        )
    step = sign_link(settings, CODE_STEP, {"u": page.line_user_id, "v": verification_id})
    return _code_form(page, step, mask_phone(phone), {})


@bp.post("/bind/verify")
def verify() -> Response | tuple[str, int]:
    """Step 2: the code. Right, and the shopper goes to LINE's dialog with a nonce naming their membership."""
    try:
        page = _open(request.form.get("t", ""))
        step = read_page_link(CODE_STEP, request.form.get("v", ""))
    except PageRefused as refusal:
        return refused_page(refusal)
    masked = str(request.form.get("masked", ""))[:20]
    if not csrf_is_valid(request.form.get("csrf_token")):
        return _code_form(page, request.form.get("v", ""), masked, {"form": notice(FORM_EXPIRED)}, 400)
    if step.get("u") != page.line_user_id or not isinstance(step.get("v"), int):
        # A code step signed for another LINE user's page: refuse, without trying the code.
        log.warning("a code step for another LINE user was posted to a bind page")
        return refused_page(PageRefused(403, notice(LINK_INVALID)))
    settings = runtime().settings
    code_refused: VerificationRefused | None = None
    try:
        with unit_of_work(runtime()) as uow:
            session = uow.session
            line_user = shopper(session, page.line_user_id)
            try:
                verification = verify_code(
                    session,
                    secret_key=settings.secret_key,
                    verification_id=step["v"],
                    line_user=line_user,
                    code=request.form.get("code", ""),
                    now=uow.now,
                )
            except VerificationRefused as refused:
                # Committed on purpose: the wrong try counts against the code.
                code_refused = refused
            else:
                nonce = start_account_link(session, line_user, verification, uow.now).nonce
    except PageRefused as refusal:
        return refused_page(refusal)
    except AccountLinkRefused as refused:
        return refused_page(PageRefused.because(refused))
    if code_refused is not None:
        errors = {"code": refusal_notice(code_refused)}
        return _code_form(page, request.form.get("v", ""), masked, errors, refusal_status(code_refused))
    return redirect(dialog_url(settings, page.link_token, nonce), code=302)


def _open(token: str) -> BindPage:
    """The bind page's LINE user and link token, if the signed link and the link token are both still good."""
    payload = read_page_link("bind", token)
    line_user_id, link_token = payload.get("u"), payload.get("lt")
    if not isinstance(line_user_id, str) or not isinstance(link_token, str):
        raise PageRefused(400, notice(LINK_INVALID))
    with runtime().sessions() as session:
        line_user = shopper(session, line_user_id)
        try:
            check_link_token(session, line_user, link_token, now())
        except AccountLinkRefused as refused:
            raise PageRefused.because(refused) from refused
    return BindPage(token, line_user_id, link_token)


def sms_backend() -> SmsBackend:
    backend: SmsBackend = current_app.extensions["sms"]
    return backend


def _phone_form(page: BindPage, errors: dict[str, Notice], status: int = 200) -> tuple[str, int]:
    return render("members/bind_phone.html", status, token=page.token, values=request.form, errors=errors)


def _code_form(page: BindPage, step: str, masked: str, errors: dict[str, Notice], status: int = 200) -> tuple[str, int]:
    context: dict[str, Any] = {"token": page.token, "step": step, "masked": masked, "errors": errors}
    urls = {"verify_url": url_for("bind.verify"), "again_url": url_for("bind.bind_page", t=page.token)}
    return render("members/bind_code.html", status, sent=notice(CODE_SENT_IF_MEMBER), **urls, **context)
