"""Binding: one LINE account to one membership and the reverse, every change audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.membership.members import MemberError
from models import BindingAudit, LineUser, Member

CHANNELS = ("line_page", "account_link", "counter", "api", "chat")


class BindingRefused(MemberError):
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
        raise BindingRefused("此會員資料已刪除，無法綁定")
    current = session.scalars(select(Member).where(Member.line_user_id == line_user.id)).one_or_none()
    if current is not None:
        raise BindingRefused("你的 LINE 帳號已綁定其他會員，請先解除綁定")
    try:
        with session.begin_nested():
            claimed = session.execute(
                update(Member)
                .where(Member.id == member.id, Member.line_user_id.is_(None))
                .values(line_user_id=line_user.id)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
    except IntegrityError as exc:
        raise BindingRefused("你的 LINE 帳號已綁定其他會員，請先解除綁定") from exc
    if not claimed:
        raise BindingRefused("此會員已綁定其他 LINE 帳號，請洽門市人員協助解除綁定")
    session.refresh(member)
    line_user.rich_menu_state = "member"
    _audit(session, member, line_user, "bind", channel, at, staff_id, store_id)
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
        raise BindingRefused("此會員尚未綁定 LINE 帳號")
    # Conditional, like bind: of two concurrent unbinds only one changes the row and writes the audit entry.
    released = session.execute(
        update(Member)
        .where(Member.id == member.id, Member.line_user_id == line_user.id)
        .values(line_user_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not released:
        raise BindingRefused("此會員尚未綁定 LINE 帳號")
    session.refresh(member)
    line_user.rich_menu_state = "guest"
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
