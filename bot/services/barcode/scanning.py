"""A scan at the counter or the POS: which member, is the code still good, and a log line either way."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.barcode import codes as barcode
from bot.services.barcode.codes import ScanRefused
from bot.services.membership.members import find_by_number
from bot.services.refusals import Reason
from models import Member, ScanLog

log = logging.getLogger(__name__)

INTENTS = ("lookup", "transaction")

# The word the scan log keeps for each refusal (`ok` and `number_only` for the scans that found the member).
LOGGED = {
    Reason.CODE_UNKNOWN: "unknown",
    Reason.CODE_FORGED: "forged",
    Reason.CODE_EXPIRED: "expired",
    Reason.CODE_USED: "used",
    Reason.MEMBER_NUMBER_LOOKUP_ONLY: "number_only",
}


# Refusals the scanner hears as one, `code_invalid`, so that a scan cannot tell which member ids exist.
NOT_A_MEMBERS_CODE = frozenset({Reason.CODE_UNKNOWN, Reason.CODE_FORGED})


@dataclass(frozen=True)
class ScanOutcome:
    """The member found (None when refused), and the refusal when there was one."""

    member: Member | None
    refusal: ScanRefused | None
    by_member_number: bool = False

    @property
    def ok(self) -> bool:
        return self.refusal is None


def _identify(session: Session, scanned: str, intent: str, store_id: int, at: datetime) -> tuple[Member, bool]:
    try:
        code = barcode.resolve(session, scanned, at)
    except ScanRefused as refused:
        if refused.reason != Reason.CODE_UNKNOWN:
            raise
        # The member number printed small under the barcode: good for a look-up, never for earning or spending.
        member_by_number = find_by_number(session, scanned)
        if member_by_number is None or member_by_number.erased_at is not None:
            raise
        if intent != "lookup":
            raise ScanRefused(Reason.MEMBER_NUMBER_LOOKUP_ONLY, member_by_number.id) from None
        return member_by_number, True
    if intent == "transaction":
        barcode.spend(session, code, purpose="transaction", store_id=store_id)
    return code.member, False


def scan(
    session: Session, scanned: str, *, intent: str, store_id: int, staff_id: int | None, at: datetime
) -> ScanOutcome:
    """Resolve a scanned code for a look-up or a value-changing transaction (which spends the code), and log it.

    The log entry is written even for a refusal, so the caller commits in both cases.
    """
    if intent not in INTENTS:
        raise ValueError(f"intent must be one of {INTENTS}")
    member_id: int | None
    try:
        member, by_number = _identify(session, scanned, intent, store_id, at)
        outcome = ScanOutcome(member=member, refusal=None, by_member_number=by_number)
        result, member_id = ("number_only" if by_number else "ok"), member.id
    except ScanRefused as refused:
        result, member_id = LOGGED[refused.reason], refused.member_id
        log.info("scan refused at store %s: %s", store_id, refused.reason)
        if refused.reason in NOT_A_MEMBERS_CODE:
            refused = ScanRefused(Reason.CODE_INVALID)
        outcome = ScanOutcome(member=None, refusal=refused)
    session.add(
        ScanLog(store_id=store_id, staff_id=staff_id, member_id=member_id, intent=intent, result=result, created_at=at)
    )
    session.flush()
    return outcome
