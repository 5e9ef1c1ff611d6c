"""Which rich menu each LINE user sees: members get the member menu linked to them; guests fall back to the
default (guest) menu. Applying is idempotent: LINE is only called when what is linked differs from what should be."""

from __future__ import annotations

import logging

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.line_client import LineClient, LineDeliveryError
from bot.services.membership.line_users import find_line_user
from models import LineUser, RichMenuDeployment

log = logging.getLogger(__name__)


def wanted_menu(session: Session, line_user: LineUser) -> str | None:
    """The rich menu id to link to this user, or None when the default menu is the right one."""
    if line_user.rich_menu_state != "member":
        return None
    return session.scalar(select(RichMenuDeployment.line_rich_menu_id).where(RichMenuDeployment.state == "member"))


def apply_rich_menu(sessions: sessionmaker[Session], line: LineClient, line_user_id: str) -> bool:
    """Link or unlink the user's rich menu if it differs from what their state asks for; True if LINE was called."""
    with sessions() as session:
        user = find_line_user(session, line_user_id)
        if user is None or user.is_blocked:
            return False
        wanted = wanted_menu(session, user)
        if wanted == user.applied_rich_menu_id:
            return False
    try:
        if wanted is None:
            line.unlink_rich_menu(line_user_id)
        else:
            line.link_rich_menu(line_user_id, wanted)
    except LineDeliveryError as exc:  # the sweeper tries again; a menu is never worth failing an event for
        log.warning("rich menu of %s not applied: %s", line_user_id, exc)
        return False
    with transaction(sessions) as session:
        user = find_line_user(session, line_user_id)
        if user is not None:
            user.applied_rich_menu_id = wanted
    return True


def users_needing_menu_change(session: Session, limit: int = 500) -> list[str]:
    """LINE users whose linked menu does not match their state (after a bind on a web page, an API unbind...)."""
    member_menu_id = session.scalar(
        select(RichMenuDeployment.line_rich_menu_id).where(RichMenuDeployment.state == "member")
    )
    mismatched = [(LineUser.rich_menu_state != "member") & LineUser.applied_rich_menu_id.is_not(None)]
    if member_menu_id:
        mismatched.append(
            (LineUser.rich_menu_state == "member")
            & (LineUser.applied_rich_menu_id.is_(None) | (LineUser.applied_rich_menu_id != member_menu_id))
        )
    return list(
        session.scalars(select(LineUser.line_user_id).where(~LineUser.is_blocked, or_(*mismatched)).limit(limit))
    )
