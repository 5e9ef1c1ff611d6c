"""Which rich menu each LINE user sees: members get the member menu linked to them; guests fall back to the
default (guest) menu. bot/delivery.py links them, calling LINE only when what is linked differs."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import LineUser, RichMenuDeployment

# Built once: asked after every event of a member.
_MEMBER_MENU = select(RichMenuDeployment.line_rich_menu_id).where(RichMenuDeployment.state == "member")


def wanted_menu(session: Session, line_user: LineUser) -> str | None:
    """The rich menu id to link to this user, or None when the default menu is the right one."""
    if line_user.rich_menu_state != "member":
        return None
    return session.scalar(_MEMBER_MENU)


def users_needing_menu_change(session: Session, limit: int = 500) -> list[str]:
    """LINE users whose linked menu does not match their state (after a bind on a web page, an API unbind...)."""
    member_menu_id = session.scalar(_MEMBER_MENU)
    mismatched = [(LineUser.rich_menu_state != "member") & LineUser.applied_rich_menu_id.is_not(None)]
    if member_menu_id:
        mismatched.append(
            (LineUser.rich_menu_state == "member")
            & (LineUser.applied_rich_menu_id.is_(None) | (LineUser.applied_rich_menu_id != member_menu_id))
        )
    return list(
        session.scalars(select(LineUser.line_user_id).where(~LineUser.is_blocked, or_(*mismatched)).limit(limit))
    )
