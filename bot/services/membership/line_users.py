"""LINE users: who follows the official account, who has blocked it, and every follow and unfollow (append-only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import LineFriendshipEvent, LineUser

# Built once: every event looks its user up, and building the statement cost more than running it.
_BY_LINE_USER_ID = select(LineUser).where(LineUser.line_user_id == bindparam("line_user_id"))


def find_line_user(session: Session, line_user_id: str) -> LineUser | None:
    """The stored LINE user with this LINE user id, if any."""
    return session.scalars(_BY_LINE_USER_ID, {"line_user_id": line_user_id}).one_or_none()


def record_follow(
    session: Session,
    line_user_id: str,
    *,
    at: datetime,
    display_name: str | None = None,
    picture_url: str | None = None,
    language: str | None = None,
) -> tuple[LineUser, bool]:
    """Store a follow (first add or unblock) with the profile, and append it to the user's friendship history;
    returns the user and whether they came back."""
    user = find_line_user(session, line_user_id)
    returning = user is not None
    if user is None:
        user = LineUser(line_user_id=line_user_id)
        session.add(user)
    user.is_blocked = False
    user.followed_at = at
    user.blocked_at = None
    if display_name is not None:
        user.display_name = display_name
    if picture_url is not None:
        user.picture_url = picture_url
    if language is not None:
        user.language = language
    session.flush()
    session.add(LineFriendshipEvent(line_user_id=user.id, kind="follow", at=at))
    session.flush()
    return user, returning


def record_first_contact(
    session: Session,
    line_user_id: str,
    *,
    at: datetime,
    display_name: str | None = None,
    picture_url: str | None = None,
    language: str | None = None,
) -> LineUser:
    """The LINE user, stored now if the bot has no record of them (a friend from before the bot was deployed, or
    whose follow was lost): LINE only sends their events while they are a friend."""
    user = find_line_user(session, line_user_id)
    if user is not None:
        return user
    try:
        with session.begin_nested():
            user = LineUser(
                line_user_id=line_user_id,
                followed_at=at,
                display_name=display_name,
                picture_url=picture_url,
                language=language,
            )
            session.add(user)
    except IntegrityError:  # the same user's other event stored them a moment ago
        found = find_line_user(session, line_user_id)
        assert found is not None
        return found
    return user


def record_unfollow(session: Session, line_user_id: str, *, at: datetime) -> LineUser:
    """Mark the user as having blocked the account (nothing may be pushed to them from now on), and append the
    unfollow to their friendship history."""
    user = find_line_user(session, line_user_id)
    if user is None:
        user = LineUser(line_user_id=line_user_id)
        session.add(user)
    user.is_blocked = True
    user.blocked_at = at
    session.flush()
    session.add(LineFriendshipEvent(line_user_id=user.id, kind="unfollow", at=at))
    session.flush()
    return user
