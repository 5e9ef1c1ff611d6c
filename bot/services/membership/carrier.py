"""The member's Taiwan e-invoice mobile barcode carrier (手機條碼): saved from the chat, shown as a Code 39 barcode
on the live card and at the counter, so that the POS scans it into the invoice.

A carrier is "/" and exactly 7 of `0-9 A-Z . + -`. What a shopper types is forgiven its spaces, lower case and
full-width forms (a phone's Chinese keyboard types ／ＡＢＣ); anything else is refused and nothing is stored. The
carrier is personal data: it is cleared on erasure and never logged.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from models import Member

CARRIER_PATTERN = re.compile(r"/[0-9A-Z.+\-]{7}")
CARRIER_LENGTH = 8
# Full-width ASCII (U+FF01..U+FF5E) to ASCII.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def is_carrier(text: str) -> bool:
    """Whether `text` is a carrier exactly as stored ("/" and 7 of 0-9 A-Z . + -)."""
    return CARRIER_PATTERN.fullmatch(text) is not None


def normalise_carrier(text: str) -> str:
    """The carrier a shopper typed, without spaces, in upper case and half-width; refused (`carrier_invalid`)
    unless that is "/" and exactly 7 of 0-9 A-Z . + -."""
    cleaned = "".join(text.translate(_FULL_WIDTH).split())
    # Only ASCII is upper-cased: "ı".upper() is "I", and a carrier is not a dotless i.
    if not cleaned.isascii() or not is_carrier(cleaned.upper()):
        raise Refused(Reason.CARRIER_INVALID)
    return cleaned.upper()


def carrier_of(member: Member) -> str | None:
    """The member's saved carrier (None when none is saved or the member was erased): for the card and the counter."""
    if member.erased_at is not None:
        return None
    return member.einvoice_carrier


def set_carrier(session: Session, member: Member, text: str) -> str:
    """Save (or replace) the member's carrier from what they typed; returns it as stored.

    A typo is refused (`carrier_invalid`) and the saved carrier, if any, is kept; an erased member is refused
    (`already_erased`)."""
    carrier = normalise_carrier(text)
    if member.erased_at is not None:
        raise Refused(Reason.ALREADY_ERASED)
    member.einvoice_carrier = carrier
    session.flush()
    return carrier


def remove_carrier(session: Session, member: Member) -> bool:
    """Forget the member's carrier; whether there was one."""
    had = member.einvoice_carrier is not None
    member.einvoice_carrier = None
    session.flush()
    return had
