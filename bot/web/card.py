"""The member barcode on the web: signed, expiring image links and the live member card.

    GET /img/<token>.png               a Code 128 or QR image of one code (the token is valid 3 minutes)
    GET /img/carrier/<token>.png       a Code 39 image of an e-invoice mobile barcode carrier (valid a day)
    GET /members/card?t=<token>        the live card of one LINE user's membership (the token is valid 12 hours)
    GET /members/card/code?t=<token>   the card's current code as JSON: the page fetches it as each step ends, and
                                       polls it with &v=<version> every few seconds so that a code spent at a till
                                       gives way to the next one at once (the answer is then `unchanged` or the new
                                       code)

No URL carries a bare LINE user id or a guessable code: every link is signed for its purpose and expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from sqlalchemy.exc import IntegrityError

from bot.barcode_images import RENDERERS, carrier_barcode_png
from bot.links import LinkInvalid, carrier_image_path, image_path, read_link
from bot.services.barcode.codes import CODE_LENGTH, STEP_SECONDS, CurrentCode, current_code
from bot.services.membership.carrier import carrier_of, is_carrier
from bot.services.membership.line_users import find_line_user
from bot.services.membership.members import MemberSummary, member_of, summary
from bot.settings import Settings
from bot.uow import unit_of_work
from bot.web import runtime
from bot.web.pages import PageRefused, notice, refused_page

IMAGE_MAX_AGE_SECONDS = 3 * 60
# A carrier does not rotate: its image link lives as long as a chat message showing it is likely to be looked at.
CARRIER_IMAGE_MAX_AGE_SECONDS = 24 * 60 * 60
# How often the open card asks whether its code was spent: a till that just scanned it sees the next one this soon.
POLL_SECONDS = 2
CARD_MAX_AGE_SECONDS = 12 * 60 * 60
IMAGE_CACHE_CONTROL = "private, max-age=60"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
NOT_A_MEMBER = "您的 LINE 帳號尚未綁定會員，請先在聊天室點選「加入/綁定會員」"

bp = Blueprint("card", __name__)


@dataclass(frozen=True)
class Shown:
    """What the card shows at one moment (the member's summary only for the page, not for the code feed)."""

    member: MemberSummary | None
    code: CurrentCode
    at: datetime
    carrier: str | None = None

    def timing(self) -> dict[str, Any]:
        """Which code this is and when the page should swap it."""
        seconds_left = (self.code.expires_at - self.at).total_seconds()
        return {
            "version": self.code.version,
            "expires_at": self.code.expires_at.isoformat(),
            # Scanners accept a code in its own step and the next one: past this it is refused.
            "valid_until": (self.code.expires_at + timedelta(seconds=STEP_SECONDS)).isoformat(),
            "seconds_left": round(seconds_left, 3),
        }

    def as_json(self, settings: Settings) -> dict[str, Any]:
        """The code, when the page should swap it, and its images (site-relative: the page's CSP allows only self)."""
        return {
            "code": self.code.code,
            **self.timing(),
            "barcode_url": image_path(settings, self.code.code, "code128"),
            "qr_url": image_path(settings, self.code.code, "qr"),
        }


@bp.get("/img/<token>.png")
def image(token: str) -> Response:
    """The PNG a signed image token names; anything else is a bare 404, so tokens cannot be probed."""
    try:
        payload = read_link(runtime().settings, "barcode-image", token, max_age=IMAGE_MAX_AGE_SECONDS)
    except LinkInvalid:
        return Response(status=404)
    code, kind = payload.get("c"), payload.get("k")
    if not (isinstance(code, str) and len(code) == CODE_LENGTH and code.isdigit() and kind in RENDERERS):
        return Response(status=404)
    response = Response(RENDERERS[kind](code), mimetype="image/png")
    response.headers["Cache-Control"] = IMAGE_CACHE_CONTROL
    return response


@bp.get("/img/carrier/<token>.png")
def carrier_image(token: str) -> Response:
    """The Code 39 PNG of the carrier a signed token names; anything else is a bare 404."""
    try:
        payload = read_link(runtime().settings, "carrier-image", token, max_age=CARRIER_IMAGE_MAX_AGE_SECONDS)
    except LinkInvalid:
        return Response(status=404)
    carrier = payload.get("c")
    if not (isinstance(carrier, str) and is_carrier(carrier)):
        return Response(status=404)
    response = Response(carrier_barcode_png(carrier), mimetype="image/png")
    response.headers["Cache-Control"] = IMAGE_CACHE_CONTROL
    return response


@bp.get("/members/card")
def card_page() -> tuple[str, int]:
    """The live card; its script keeps the code fresh through `card_code`."""
    token = request.args.get("t", "")
    try:
        shown = _shown(token, with_member=True)
    except PageRefused as refusal:
        return refused_page(refusal)
    from bot.chat.membership import TIER_LABELS  # imported here: handlers import this module

    assert shown.member is not None
    html = render_template(
        "card/card.html",
        brand=runtime().settings.brand_name,
        member=shown.member,
        tier=notice(TIER_LABELS.get(shown.member.tier, shown.member.tier)),
        code=shown.as_json(runtime().settings),
        step_seconds=STEP_SECONDS,
        poll_seconds=POLL_SECONDS,
        code_url=url_for("card.card_code", t=token),
        carrier=shown.carrier,
        carrier_url=carrier_image_path(runtime().settings, shown.carrier) if shown.carrier else None,
    )
    return html, 200


@bp.get("/members/card/code")
def card_code() -> tuple[Response, int]:
    """The card's current code as JSON; refusals are JSON too, for the page's script to show.

    With `v` (the version of the code the page shows) and that code still current, the answer says only
    `unchanged` and the timing: no image is signed for a poll that changes nothing."""
    try:
        shown = _shown(request.args.get("t", ""), with_member=False)
    except PageRefused as refusal:
        error = "link_invalid" if refusal.status == 403 else "not_a_member"
        return jsonify(error=error, message=refusal.notice.zh, message_en=refusal.notice.en), refusal.status
    if request.args.get("v") == shown.code.version:
        return jsonify(unchanged=True, **shown.timing()), 200
    return jsonify(shown.as_json(runtime().settings)), 200


@bp.after_request
def _headers(response: Response) -> Response:
    """Only this site's own scripts, styles and images; pages and codes are never kept by the browser."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _card_user(token: str) -> str:
    """The LINE user a card link was signed for; a forged, altered or expired link is refused (403)."""
    try:
        payload = read_link(runtime().settings, "card", token, max_age=CARD_MAX_AGE_SECONDS)
    except LinkInvalid as exc:
        raise PageRefused(403, notice(exc.message)) from exc
    line_user_id = payload.get("u")
    if not isinstance(line_user_id, str):
        raise PageRefused(403, notice("連結無效，請回到 LINE 重新開啟"))
    return line_user_id


def _shown(token: str, *, with_member: bool) -> Shown:
    line_user_id = _card_user(token)
    try:
        return _read_card(line_user_id, with_member)
    except IntegrityError:
        # Two first requests created the member's barcode secret at once: the other one's is there now.
        return _read_card(line_user_id, with_member)


def _read_card(line_user_id: str, with_member: bool) -> Shown:
    with unit_of_work(runtime()) as uow:
        session = uow.session
        member = member_of(session, find_line_user(session, line_user_id))
        if member is None or member.erased_at is not None:
            raise PageRefused(404, notice(NOT_A_MEMBER))
        at = uow.now
        if not with_member:
            return Shown(None, current_code(session, member, at), at)
        return Shown(summary(session, member), current_code(session, member, at), at, carrier_of(member))
