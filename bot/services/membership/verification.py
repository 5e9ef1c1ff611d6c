"""One-time codes that prove a shopper holds a phone: 6 digits by SMS, kept only as an HMAC, good for 5 minutes.

Limits: 5 wrong tries per code (the code is then dead, even for the right digits); in any hour 5 codes per phone
for one LINE user, 15 per phone across LINE users and 10 per LINE user (bot/services/rate_limits.py). A new code
for the same phone and LINE user supersedes the last one. Every refusal raises `VerificationRefused` with a reason;
phone numbers reach the logs masked, never whole.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.services.membership.members import find_by_phone
from bot.services.membership.phones import mask_phone
from bot.services.rate_limits import OTP_PER_LINE_USER, OTP_PER_PHONE, OTP_PER_PHONE_AND_USER, RateLimiter
from bot.services.refusals import Reason, Refused
from models import LineUser, PhoneVerification

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_VALID_FOR = timedelta(minutes=5)
MAX_WRONG_ATTEMPTS = 5


class VerificationRefused(Refused):
    """A code request or check refused (`params` carries `left`, the tries left after a wrong code)."""


@dataclass(frozen=True)
class IssuedCode:
    """A code request's outcome: the stored verification, the code to text (None when it is for members only and
    the phone is no member's), and whether the phone is a member's (which text to send; never shown to the asker)."""

    verification: PhoneVerification
    code: str | None
    phone_is_members: bool


def hash_code(secret_key: str, code: str) -> str:
    """HMAC-SHA256 of a code under the app's secret key, hex: all that is ever stored of it."""
    return hmac.new(secret_key.encode(), code.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """Six random digits from `secrets`."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def request_code(
    session: Session,
    *,
    secret_key: str,
    limiter: RateLimiter,
    line_user: LineUser,
    phone_e164: str,
    now: datetime,
    members_only: bool = True,
) -> IssuedCode:
    """Issue a code for a phone, within the hourly limits; the caller texts `code` when it is not None.

    With `members_only` (the bind page), a phone that is no member's gets a verification row too (whose code
    nobody learns), so that the page behaves the same for any number and cannot be used to find out who is a
    member. Without it (the join page) every phone's code is given to be texted. A refused request is not
    counted against either limit.
    """
    _within_limits(limiter, line_user, phone_e164)
    # The previous live code for the same phone and LINE user stops working.
    session.execute(
        update(PhoneVerification)
        .where(
            PhoneVerification.phone_e164 == phone_e164,
            PhoneVerification.line_user_id == line_user.id,
            PhoneVerification.verified_at.is_(None),
            PhoneVerification.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    code = new_code()
    verification = PhoneVerification(
        phone_e164=phone_e164,
        line_user_id=line_user.id,
        code_hash=hash_code(secret_key, code),
        created_at=now,
        expires_at=now + CODE_VALID_FOR,
        failed_attempts=0,
    )
    session.add(verification)
    session.flush()
    is_member = find_by_phone(session, phone_e164) is not None
    log.info("code %s issued for %s (member: %s)", verification.id, mask_phone(phone_e164), is_member)
    return IssuedCode(verification, code if is_member or not members_only else None, is_member)


def verify_code(
    session: Session, *, secret_key: str, verification_id: int, line_user: LineUser, code: str, now: datetime
) -> PhoneVerification:
    """Check a typed code against the verification the shopper was given; returns it, marked verified.

    A wrong code is counted on the verification before `VerificationRefused` is raised: commit the session
    anyway, or the count is lost. Other refusals change nothing.
    """
    verification = session.scalars(
        select(PhoneVerification).where(PhoneVerification.id == verification_id).with_for_update()
    ).one_or_none()
    if verification is None or verification.line_user_id != line_user.id:
        raise VerificationRefused(Reason.SMS_CODE_UNKNOWN)
    typed = code.strip()
    if len(typed) != CODE_DIGITS or not typed.isascii() or not typed.isdigit():
        raise VerificationRefused(Reason.SMS_CODE_FORMAT)
    if verification.verified_at is not None:
        raise VerificationRefused(Reason.SMS_CODE_USED)
    if verification.failed_attempts >= MAX_WRONG_ATTEMPTS:
        raise VerificationRefused(Reason.SMS_CODE_DEAD)
    if now >= verification.expires_at:
        raise VerificationRefused(Reason.SMS_CODE_EXPIRED)
    if not hmac.compare_digest(verification.code_hash, hash_code(secret_key, typed)):
        verification.failed_attempts += 1
        session.flush()
        left = MAX_WRONG_ATTEMPTS - verification.failed_attempts
        log.info("wrong code for verification %s (%d tries left)", verification.id, left)
        if left == 0:
            raise VerificationRefused(Reason.SMS_CODE_DEAD)
        raise VerificationRefused(Reason.SMS_CODE_WRONG, left=left)
    verification.verified_at = now
    session.flush()
    return verification


def _within_limits(limiter: RateLimiter, line_user: LineUser, phone_e164: str) -> None:
    """Count the request against the phone (for this LINE user, and across them) and the LINE user, or refuse it
    (counting it against none)."""
    user_key = line_user.line_user_id
    limits = (
        (OTP_PER_PHONE_AND_USER, (phone_e164, user_key), Reason.TOO_MANY_CODES_FOR_PHONE),
        (OTP_PER_PHONE, (phone_e164,), Reason.TOO_MANY_CODES_FOR_PHONE),
        (OTP_PER_LINE_USER, (user_key,), Reason.TOO_MANY_CODES_FOR_USER),
    )
    # Tested first, so a refusal counts against none; then hit, each hit atomic in the storage: a concurrent request
    # that took the last slot first makes this one lose.
    for check in (limiter.test, limiter.hit):
        for rule, key, reason in limits:
            if not check(rule, *key):
                log.info("code refused: %s (%s)", rule.name, mask_phone(phone_e164))
                raise VerificationRefused(reason)
