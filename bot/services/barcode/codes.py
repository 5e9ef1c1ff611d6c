"""The rotating member code: RFC 6238 (TOTP) digits from the member's secret and the minute, behind the member id.

A code is `MMMMMMMMMM` (member id, 10 digits) + `TTTTTTTT` (8 TOTP digits): 18 digits, which Code 128 packs
densely and a USB scanner types as-is. It is valid in its own time step and the one before (clock drift), and
spent by the first value-changing scan.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from models import Member
from models.barcode import BarcodeKey, BarcodeUse

STEP_SECONDS = 60
MEMBER_DIGITS = 10
TOTP_DIGITS = 8
CODE_LENGTH = MEMBER_DIGITS + TOTP_DIGITS
# How far back a well-formed code is still recognised as "expired" rather than "forged".
EXPIRED_LOOKBACK_STEPS = 120
# members.id is a 32-bit INTEGER: a larger "member id" in a scanned code cannot be anyone's (PostgreSQL would refuse
# to compare it).
MAX_MEMBER_ID = 2**31 - 1


class ScanRefused(Refused):
    """The scanned text does not lead to a member for this purpose (`code_unknown`, `code_forged`, `code_expired`,
    `code_used`, `member_number_lookup_only`); `member_id` is whose code it looked like, when known."""

    def __init__(self, reason: Reason, member_id: int | None = None) -> None:
        super().__init__(reason)
        self.member_id = member_id


@dataclass(frozen=True)
class CurrentCode:
    code: str
    time_step: int
    expires_at: datetime


def time_step(at: datetime) -> int:
    """The number of the STEP_SECONDS step `at` falls in (RFC 6238 counts steps from the Unix epoch)."""
    return int(at.timestamp()) // STEP_SECONDS


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=STEP_SECONDS)


def _key(session: Session, member_id: int) -> BarcodeKey | None:
    return session.scalars(select(BarcodeKey).where(BarcodeKey.member_id == member_id)).one_or_none()


def ensure_key(session: Session, member: Member) -> BarcodeKey:
    """The member's barcode secret, created on first use."""
    key = _key(session, member.id)
    if key is None:
        key = BarcodeKey(member_id=member.id, secret=pyotp.random_base32(32))
        session.add(key)
        session.flush()
    return key


def current_code(session: Session, member: Member, at: datetime) -> CurrentCode:
    """The member's code for this minute and when it stops being shown (the next step starts)."""
    key = ensure_key(session, member)
    step = time_step(at)
    digits = _totp(key.secret).at(step * STEP_SECONDS)
    expires_at = datetime.fromtimestamp((step + 1) * STEP_SECONDS, tz=at.tzinfo)
    return CurrentCode(code=f"{member.id:0{MEMBER_DIGITS}d}{digits}", time_step=step, expires_at=expires_at)


def _matching_step(secret: str, digits: str, now_step: int) -> int | None:
    """The time step the digits belong to, searching from now back to the lookback limit."""
    totp = _totp(secret)
    for step in range(now_step, now_step - EXPIRED_LOOKBACK_STEPS, -1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), digits):
            return step
    return None


def resolve(session: Session, scanned: str, at: datetime) -> tuple[Member, int]:
    """The member a scanned code belongs to and its time step, if the code is genuine and fresh."""
    text = scanned.strip()
    if not (len(text) == CODE_LENGTH and text.isascii() and text.isdigit()):
        raise ScanRefused(Reason.CODE_UNKNOWN)
    member_id, digits = int(text[:MEMBER_DIGITS]), text[MEMBER_DIGITS:]
    if member_id > MAX_MEMBER_ID:
        raise ScanRefused(Reason.CODE_UNKNOWN)
    member = session.get(Member, member_id)
    key = _key(session, member_id)
    if member is None or key is None or member.erased_at is not None:
        raise ScanRefused(Reason.CODE_UNKNOWN)
    now_step = time_step(at)
    step = _matching_step(key.secret, digits, now_step)
    if step is None:
        raise ScanRefused(Reason.CODE_FORGED, member_id)
    if step < now_step - 1:
        raise ScanRefused(Reason.CODE_EXPIRED, member_id)
    return member, step


def spend(session: Session, member: Member, step: int, purpose: str, store_id: int | None) -> None:
    """Mark the code of this member and step as used by a value-changing action; a second time is refused."""
    try:
        with session.begin_nested():
            session.add(BarcodeUse(member_id=member.id, time_step=step, purpose=purpose, store_id=store_id))
            session.flush()
    except IntegrityError as exc:
        raise ScanRefused(Reason.CODE_USED, member.id) from exc
