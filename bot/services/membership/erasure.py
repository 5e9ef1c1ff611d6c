"""Leaving the programme: a member's personal data is erased; the points ledger stays for the brand's accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.services.membership.binding import unbind
from bot.services.refusals import Reason, Refused
from models import ErasureRequest, Member, PhoneVerification

ERASURE_CHANNELS = ("chat", "api")


def request_erasure(
    session: Session,
    member: Member,
    channel: str,
    now: datetime,
    *,
    staff_id: int | None = None,
    store_id: int | None = None,
) -> ErasureRequest:
    """Erase a member's personal data now and record the request as completed; returns the request.

    The request records the store and the clerk that took it: both are required on the "api" channel (a counter),
    neither is known in the chat. The LINE account is unbound (audited on `channel`), name, phone, birthday and
    e-invoice carrier are cleared and `erased_at` set, and codes sent to the phone are deleted. The member number and
    the points ledger are kept. A member already erased is refused (`already_erased`) and nothing new is recorded.
    """
    assert channel in ERASURE_CHANNELS, channel
    if channel == "api" and (store_id is None or staff_id is None):
        raise ValueError("an erasure taken at a counter names its store and clerk")
    # Lock the member so that two requests at once erase (and record) once.
    session.refresh(member, with_for_update=True)
    if member.erased_at is not None:
        raise Refused(Reason.ALREADY_ERASED)
    if member.line_user_id is not None:
        unbind(session, member, channel=channel, at=now, staff_id=staff_id, store_id=store_id)
    if member.phone_e164 is not None:
        session.execute(delete(PhoneVerification).where(PhoneVerification.phone_e164 == member.phone_e164))
    member.name = None
    member.phone_e164 = None
    member.birthday = None
    member.einvoice_carrier = None
    member.erased_at = now
    request = ErasureRequest(
        member_id=member.id, channel=channel, store_id=store_id, staff_id=staff_id, completed_at=now, created_at=now
    )
    session.add(request)
    session.flush()
    return request
