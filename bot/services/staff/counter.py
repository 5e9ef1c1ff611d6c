"""What a store's POS does about a member: look them up, find the clerk at the till, unbind a LINE account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.membership.binding import unbind
from bot.services.membership.members import summary
from bot.services.membership.phones import mask_phone
from bot.services.refusals import Reason, Refused
from models import LineUser, Member, Staff, Store


class UnknownStaff(Refused):
    """No active clerk with this code works at the store asking."""

    def __init__(self) -> None:
        super().__init__(Reason.UNKNOWN_STAFF)


@dataclass(frozen=True)
class MemberCard:
    """A member as the POS sees them: never a full phone number."""

    member_number: str
    name: str | None
    tier: str
    points: int
    bound: bool
    phone_masked: str | None
    erased: bool


def find_active_staff(session: Session, store: Store, staff_code: str) -> Staff:
    """The active clerk with this staff code at this store; UnknownStaff otherwise (another store's clerk too)."""
    staff = session.scalars(
        select(Staff).where(Staff.code == staff_code.strip(), Staff.store_id == store.id, Staff.is_active.is_(True))
    ).one_or_none()
    if staff is None:
        raise UnknownStaff()
    return staff


def member_card(session: Session, member: Member, points: int | None = None) -> MemberCard:
    """Number, name, tier, points (read unless given) and whether a LINE account is bound, with the phone masked."""
    about = summary(session, member, points)
    return MemberCard(
        member_number=about.member_number,
        name=about.name,
        tier=about.tier,
        points=about.points,
        bound=member.line_user_id is not None,
        phone_masked=mask_phone(member.phone_e164) if member.phone_e164 else None,
        erased=member.erased_at is not None,
    )


def unbind_at_counter(session: Session, member: Member, *, staff: Staff, now: datetime) -> LineUser:
    """A clerk unbinds the member's LINE account (audited with the clerk and their store); returns that LINE user.

    Raises BindingRefused when the member has no LINE account bound.
    """
    return unbind(session, member, channel="counter", at=now, staff_id=staff.id, store_id=staff.store_id)
