"""One-time codes that prove a shopper holds a phone: 6 digits by SMS, kept only as an HMAC, good for 5 minutes.

Limits: 5 wrong tries per code (the code is then dead, even for the right digits), 5 codes per phone and 10 per
LINE user in any hour. A new code for the same phone and LINE user supersedes the last one. Every refusal raises
`VerificationRefused` with zh-TW text; phone numbers reach the logs masked, never whole.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.services.membership.members import MemberError, find_by_phone
from bot.services.membership.phones import mask_phone
from models import LineUser, PhoneVerification

log = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_VALID_FOR = timedelta(minutes=5)
MAX_WRONG_ATTEMPTS = 5
RATE_WINDOW = timedelta(hours=1)
MAX_CODES_PER_PHONE = 5
MAX_CODES_PER_LINE_USER = 10

TOO_MANY_FOR_PHONE = "這個手機號碼在一小時內已索取太多次驗證碼，請稍後再試"
TOO_MANY_FOR_USER = "你在一小時內已索取太多次驗證碼，請稍後再試"
CODE_FORMAT = "請輸入簡訊中的 6 位數驗證碼"
WRONG_CODE = "驗證碼不正確，還可以再試 {left} 次"
CODE_DEAD = "錯誤次數過多，這組驗證碼已失效，請重新索取"
CODE_EXPIRED = "驗證碼已過期或已被新的驗證碼取代，請重新索取"
CODE_USED = "這組驗證碼已經使用過，請重新索取"
CODE_UNKNOWN = "找不到這組驗證碼，請重新索取"


class VerificationRefused(MemberError):
    """A code request or check refused; `message` is a zh-TW msgid and `params` fill its placeholders."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.params = params


@dataclass(frozen=True)
class IssuedCode:
    """A code request's outcome: the stored verification, and the code to text only when the phone is a member's."""

    verification: PhoneVerification
    code: str | None


def hash_code(secret_key: str, code: str) -> str:
    """HMAC-SHA256 of a code under the app's secret key, hex: all that is ever stored of it."""
    return hmac.new(secret_key.encode(), code.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """Six random digits from `secrets`."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def request_code(
    session: Session, *, secret_key: str, line_user: LineUser, phone_e164: str, now: datetime
) -> IssuedCode:
    """Issue a code for a phone, within the hourly limits; the caller texts `code` when it is not None.

    A phone that is no member's gets a verification row too (whose code nobody learns), so that the page
    behaves the same for any number and cannot be used to find out who is a member.
    """
    # One request per LINE user at a time, so two concurrent requests cannot both slip under the limit.
    session.execute(select(LineUser.id).where(LineUser.id == line_user.id).with_for_update())
    since = now - RATE_WINDOW
    by_phone = _count(session, PhoneVerification.phone_e164 == phone_e164, since)
    if by_phone >= MAX_CODES_PER_PHONE:
        log.info("code refused: %s asked %d times this hour", mask_phone(phone_e164), by_phone)
        raise VerificationRefused(TOO_MANY_FOR_PHONE)
    if _count(session, PhoneVerification.line_user_id == line_user.id, since) >= MAX_CODES_PER_LINE_USER:
        log.info("code refused: LINE user %s asked too often this hour", line_user.id)
        raise VerificationRefused(TOO_MANY_FOR_USER)
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
    return IssuedCode(verification, code if is_member else None)


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
        raise VerificationRefused(CODE_UNKNOWN)
    typed = code.strip()
    if len(typed) != CODE_DIGITS or not typed.isascii() or not typed.isdigit():
        raise VerificationRefused(CODE_FORMAT)
    if verification.verified_at is not None:
        raise VerificationRefused(CODE_USED)
    if verification.failed_attempts >= MAX_WRONG_ATTEMPTS:
        raise VerificationRefused(CODE_DEAD)
    if now >= verification.expires_at:
        raise VerificationRefused(CODE_EXPIRED)
    if not hmac.compare_digest(verification.code_hash, hash_code(secret_key, typed)):
        verification.failed_attempts += 1
        session.flush()
        left = MAX_WRONG_ATTEMPTS - verification.failed_attempts
        log.info("wrong code for verification %s (%d tries left)", verification.id, left)
        if left == 0:
            raise VerificationRefused(CODE_DEAD)
        raise VerificationRefused(WRONG_CODE, left=left)
    verification.verified_at = now
    session.flush()
    return verification


def _count(session: Session, condition: Any, since: datetime) -> int:
    query = select(func.count()).select_from(PhoneVerification).where(condition, PhoneVerification.created_at > since)
    return int(session.scalar(query) or 0)
