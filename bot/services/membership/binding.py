"""Binding: one LINE account to one membership and the reverse, every change audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.refusals import Reason, Refused
from bot.services.staff.referrals import attribute_member
from models import BindingAudit, LineUser, Member

CHANNELS = ("line_page", "account_link", "counter", "api", "chat")


class BindingRefused(Refused):
    """The bind or unbind cannot happen; nothing was changed."""


def bind(
    session: Session,
    member: Member,
    line_user: LineUser,
    *,
    channel: str,
    at: datetime,
    staff_id: int | None = None,
    store_id: int | None = None,
) -> bool:
    """Bind a LINE user to a member; returns False when they were already bound to each other.

    The UPDATE only matches a member with no LINE user, so of two concurrent binds exactly one succeeds; the unique
    constraint on members.line_user_id stops one LINE user from taking two memberships.
    """
    assert channel in CHANNELS, channel
    if member.line_user_id == line_user.id:
        return False
    if member.erased_at is not None:
        raise BindingRefused(Reason.MEMBER_ERASED_CANNOT_BIND)
    current = session.scalars(select(Member).where(Member.line_user_id == line_user.id)).one_or_none()
    if current is not None:
        raise BindingRefused(Reason.LINE_USER_BOUND_ELSEWHERE)
    try:
        with session.begin_nested():
            claimed = session.execute(
                update(Member)
                .where(Member.id == member.id, Member.line_user_id.is_(None))
                .values(line_user_id=line_user.id)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
    except IntegrityError as exc:
        raise BindingRefused(Reason.LINE_USER_BOUND_ELSEWHERE) from exc
    if not claimed:
        raise BindingRefused(Reason.MEMBER_BOUND_ELSEWHERE)
    session.refresh(member)
    line_user.rich_menu_state = "member"
    facts.record(session, facts.MembershipChanged(line_user.line_user_id))
    _audit(session, member, line_user, "bind", channel, at, staff_id, store_id)
    # A shopper who came with a clerk's referral code is credited to that clerk (the join page binds as line_page).
    attribute_member(session, member, line_user, kind="join" if channel == "line_page" else "bind", at=at)
    return True


def unbind(
    session: Session,
    member: Member,
    *,
    channel: str,
    at: datetime,
    staff_id: int | None = None,
    store_id: int | None = None,
) -> LineUser:
    """Unbind a member from their LINE account; returns the LINE user that was unbound."""
    assert channel in CHANNELS, channel
    line_user = member.line_user
    if line_user is None:
        raise BindingRefused(Reason.NOT_BOUND)
    # Conditional, like bind: of two concurrent unbinds only one changes the row and writes the audit entry.
    released = session.execute(
        update(Member)
        .where(Member.id == member.id, Member.line_user_id == line_user.id)
        .values(line_user_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not released:
        raise BindingRefused(Reason.NOT_BOUND)
    session.refresh(member)
    line_user.rich_menu_state = "guest"
    facts.record(session, facts.MembershipChanged(line_user.line_user_id))
    session.flush()
    _audit(session, member, line_user, "unbind", channel, at, staff_id, store_id)
    return line_user


def _audit(
    session: Session,
    member: Member,
    line_user: LineUser,
    action: str,
    channel: str,
    at: datetime,
    staff_id: int | None,
    store_id: int | None,
) -> None:
    session.add(
        BindingAudit(
            member_id=member.id,
            line_user_id=line_user.id,
            action=action,
            channel=channel,
            staff_id=staff_id,
            store_id=store_id,
            created_at=at,
        )
    )
    session.flush()
