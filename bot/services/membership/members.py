"""Members: creating, finding, and what a member sees of their own membership."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from models import LineUser, Member, MemberBalance


@dataclass(frozen=True)
class MemberSummary:
    member_number: str
    name: str | None
    tier: str
    points: int


def new_member_number(session: Session) -> str:
    """A fresh member number ("M" + 8 digits) not yet used."""
    while True:
        number = f"M{secrets.randbelow(10**8):08d}"
        if session.scalar(select(Member.id).where(Member.member_number == number)) is None:
            return number


# Built once: counters and the chat look members up on most requests, and building a statement (and its cache key)
# cost about as much as running it.
_BY_NUMBER = select(Member).where(Member.member_number == bindparam("number"))
_POINTS = select(MemberBalance.points).where(MemberBalance.member_id == bindparam("member_id"))


def _number_param(member_number: str) -> dict[str, str] | None:
    """The statement's parameter; None for text no member number has (PostgreSQL cannot compare NUL)."""
    return None if "\x00" in member_number else {"number": member_number.strip()}


def find_by_number(session: Session, member_number: str) -> Member | None:
    """The member with this member number."""
    number = _number_param(member_number)
    return None if number is None else session.scalars(_BY_NUMBER, number).one_or_none()


_WITH_POINTS = (
    select(Member, func.coalesce(MemberBalance.points, 0))
    .outerjoin(MemberBalance, MemberBalance.member_id == Member.id)
    .where(Member.member_number == bindparam("number"))
)


def find_with_points(session: Session, member_number: str) -> tuple[Member, int] | None:
    """The member with this member number and their points, read together (the counters' look-up)."""
    number = _number_param(member_number)
    found = None if number is None else session.execute(_WITH_POINTS, number).one_or_none()
    return None if found is None else (found[0], int(found[1]))


def find_by_phone(session: Session, phone_e164: str) -> Member | None:
    """The member with this (normalised) phone number."""
    return session.scalars(select(Member).where(Member.phone_e164 == phone_e164)).one_or_none()


# Built once: the chat asks who a LINE user is on most answers.
_BOUND_TO = select(Member).where(Member.line_user_id == bindparam("line_user_pk"))
_IS_BOUND = select(Member.id).where(Member.line_user_id == bindparam("line_user_pk"))


def member_of(session: Session, line_user: LineUser | None) -> Member | None:
    """The member a LINE user is bound to, if any."""
    if line_user is None:
        return None
    return session.scalars(_BOUND_TO, {"line_user_pk": line_user.id}).one_or_none()


def is_bound(session: Session, line_user: LineUser | None) -> bool:
    """Whether the LINE user is bound to a member (without loading the member)."""
    return line_user is not None and session.scalar(_IS_BOUND, {"line_user_pk": line_user.id}) is not None


def points_balance(session: Session, member_id: int) -> int:
    """The member's points: the cached balance the ledger keeps equal to the sum of their entries."""
    balance = session.scalar(_POINTS, {"member_id": member_id})
    return int(balance or 0)


def summary(session: Session, member: Member, points: int | None = None) -> MemberSummary:
    """Name, number, tier and points (read unless given), as the member's profile card shows them."""
    if points is None:
        points = points_balance(session, member.id)
    return MemberSummary(member.member_number, member.name, member.tier, points)


def create_member(
    session: Session,
    *,
    name: str,
    phone_e164: str,
    birthday: date | None,
    source: str,
    home_store_id: int | None = None,
    referred_by_staff_id: int | None = None,
) -> Member:
    """Create a member; a phone number that already belongs to a member is refused."""
    if find_by_phone(session, phone_e164) is not None:
        raise Refused(Reason.PHONE_TAKEN)
    member = Member(
        member_number=new_member_number(session),
        name=name,
        phone_e164=phone_e164,
        birthday=birthday,
        source=source,
        home_store_id=home_store_id,
        referred_by_staff_id=referred_by_staff_id,
    )
    session.add(member)
    session.flush()
    return member
