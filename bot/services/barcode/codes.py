"""The rotating member code: RFC 6238 (TOTP) digits from the member's secret and the minute, behind the member id.

A code is `MMMMMMMMMM` (member id, 10 digits) + `TTTTTTTT` (8 TOTP digits): 18 digits, which Code 128 packs
densely and a USB scanner types as-is. It is valid in its own time step and the one before (clock drift), and
spent by the first value-changing scan.

Each time step has generations 0, 1, 2…: spending generation g makes g + 1 the member's code for the rest of the
step, so the live card shows a fresh code at once instead of after the minute. The generation is inside the HMAC
(HOTP counter `step + generation * 2**40`; generation 0 is the plain TOTP of the step), so the code stays 18 digits
and a till cannot make up the next generation. A spent generation is refused as used, one not issued yet as forged.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import pyotp
from sqlalchemy import func, select
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
# The generation sits above any time step in the HOTP counter (steps stay below 2**40 for 2 billion years).
GENERATION_SHIFT = 40


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
    generation: int = 0

    @property
    def version(self) -> str:
        """Which code this is (step and generation), for a page to ask whether its code is still the current one."""
        return f"{self.time_step}.{self.generation}"


class Resolved(NamedTuple):
    """A genuine, fresh code: whose it is, and the time step and generation it was made for."""

    member: Member
    time_step: int
    generation: int


def time_step(at: datetime) -> int:
    """The number of the STEP_SECONDS step `at` falls in (RFC 6238 counts steps from the Unix epoch)."""
    return int(at.timestamp()) // STEP_SECONDS


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=STEP_SECONDS)


def _digits(totp: pyotp.TOTP, step: int, generation: int) -> str:
    return totp.generate_otp(step + (generation << GENERATION_SHIFT))


def _next_generations(session: Session, member_id: int, since_step: int) -> dict[int, int]:
    """For each step since `since_step` in which the member spent a code: the generation their code has now."""
    rows = session.execute(
        select(BarcodeUse.time_step, func.max(BarcodeUse.generation))
        .where(BarcodeUse.member_id == member_id, BarcodeUse.time_step >= since_step)
        .group_by(BarcodeUse.time_step)
    )
    return {step: top + 1 for step, top in rows}


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
    """The member's code for this minute (the generation after the last one spent in it) and when it stops being
    shown (the next step starts)."""
    key = ensure_key(session, member)
    step = time_step(at)
    generation = _next_generations(session, member.id, step).get(step, 0)
    digits = _digits(_totp(key.secret), step, generation)
    expires_at = datetime.fromtimestamp((step + 1) * STEP_SECONDS, tz=at.tzinfo)
    return CurrentCode(
        code=f"{member.id:0{MEMBER_DIGITS}d}{digits}", time_step=step, expires_at=expires_at, generation=generation
    )


def _matching(secret: str, digits: str, now_step: int, generations: dict[int, int]) -> tuple[int, int] | None:
    """The time step and generation the digits belong to, searching from now back to the lookback limit, each step
    through the generations it has issued (spent ones included, so that they are told apart from forged ones)."""
    totp = _totp(secret)
    for step in range(now_step, now_step - EXPIRED_LOOKBACK_STEPS, -1):
        for generation in range(generations.get(step, 0) + 1):
            if hmac.compare_digest(_digits(totp, step, generation), digits):
                return step, generation
    return None


def resolve(session: Session, scanned: str, at: datetime) -> Resolved:
    """The member a scanned code belongs to, with its time step and generation, if the code is genuine and fresh.

    A spent code still resolves (a look-up may repeat); `spend` refuses it for a value-changing scan."""
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
    generations = _next_generations(session, member_id, now_step - EXPIRED_LOOKBACK_STEPS + 1)
    found = _matching(key.secret, digits, now_step, generations)
    if found is None:
        raise ScanRefused(Reason.CODE_FORGED, member_id)
    step, generation = found
    if step < now_step - 1:
        raise ScanRefused(Reason.CODE_EXPIRED, member_id)
    return Resolved(member, step, generation)


def spend(session: Session, code: Resolved, purpose: str, store_id: int | None) -> None:
    """Mark this code (member, step, generation) as used by a value-changing action, which makes the next generation
    the member's code; a second time is refused (the unique key decides between two tills at once)."""
    use = BarcodeUse(
        member_id=code.member.id,
        time_step=code.time_step,
        generation=code.generation,
        purpose=purpose,
        store_id=store_id,
    )
    try:
        with session.begin_nested():
            session.add(use)
            session.flush()
    except IntegrityError as exc:
        raise ScanRefused(Reason.CODE_USED, code.member.id) from exc
