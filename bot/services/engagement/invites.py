"""Inviting friends: a member's personal invite code, claimed by a new friend, counted when that friend joins.

The member shares a link that opens the official account's chat with 「邀請碼 XXXXXX」 typed in; the friend adds the
account and sends it (`claim_invite`). Only a newcomer earns the inviter anything: a LINE user who is or ever was a
member, or whose first contact with the account (the earliest event of theirs the webhook stored) came before the
code was made, or whose follow was an unblock (they were a friend before), is turned away. A friend claims one code,
once. When the friend then joins (`credit_inviter`, called by the join service in the join's transaction), the
inviter's invite missions move by one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.engagement.missions import record_progress
from bot.services.membership.members import member_of
from bot.services.personal_codes import code_of
from models import BindingAudit, InviteClaim, InviteCode, LineUser, Member, WebhookEvent

CODE_LENGTH = 6


class Claim(enum.Enum):
    ACCEPTED = "accepted"
    UNKNOWN_CODE = "unknown_code"
    OWN_CODE = "own_code"
    ALREADY_MEMBER = "already_member"
    NOT_NEW = "not_new"
    ALREADY_CLAIMED = "already_claimed"


@dataclass(frozen=True)
class ClaimResult:
    outcome: Claim
    inviter_name: str | None = None


def normalise_code(code: str) -> str:
    """An invite code as typed: trimmed and upper case."""
    return code.strip().upper()


def invite_code_for(session: Session, member: Member, at: datetime) -> InviteCode:
    """The member's invite code, made now (at `at`) if they have none yet."""
    return code_of(session, InviteCode, "member_id", member.id, at, CODE_LENGTH)


def _is_newcomer(session: Session, line_user: LineUser, since: datetime) -> bool:
    """Whether the LINE user first reached the account (a follow, not an unblock) at or after `since`."""
    events = session.execute(
        select(WebhookEvent.event_type, WebhookEvent.occurred_at, WebhookEvent.payload).where(
            WebhookEvent.line_user_id == line_user.line_user_id
        )
    ).all()
    follows = [(occurred, payload) for kind, occurred, payload in events if kind == "follow"]
    if not follows or min(occurred for _kind, occurred, _payload in events) < since:
        return False
    return not any((payload.get("follow") or {}).get("isUnblocked") for _occurred, payload in follows)


def _was_ever_member(session: Session, line_user: LineUser) -> bool:
    if member_of(session, line_user) is not None:
        return True
    bound = session.scalar(select(func.count(BindingAudit.id)).where(BindingAudit.line_user_id == line_user.id))
    return bool(bound)


def claim_invite(session: Session, line_user: LineUser, code: str, at: datetime) -> ClaimResult:
    """A friend sent an invite code: recorded when they are a newcomer (see the module), once per LINE user."""
    invite = session.scalars(select(InviteCode).where(InviteCode.code == normalise_code(code))).one_or_none()
    if invite is None:
        return ClaimResult(Claim.UNKNOWN_CODE)
    inviter = session.get_one(Member, invite.member_id)
    if inviter.erased_at is not None:
        return ClaimResult(Claim.UNKNOWN_CODE)
    if inviter.line_user_id == line_user.id:
        return ClaimResult(Claim.OWN_CODE)
    if _was_ever_member(session, line_user):
        return ClaimResult(Claim.ALREADY_MEMBER)
    existing = session.scalars(
        select(InviteClaim).where(InviteClaim.invitee_line_user_id == line_user.id)
    ).one_or_none()
    if existing is not None:
        return ClaimResult(
            Claim.ALREADY_CLAIMED if existing.invite_code_id != invite.id else Claim.ACCEPTED, inviter.name
        )
    if not _is_newcomer(session, line_user, invite.created_at):
        return ClaimResult(Claim.NOT_NEW)
    try:
        with session.begin_nested():
            session.add(
                InviteClaim(
                    invite_code_id=invite.id,
                    inviter_member_id=inviter.id,
                    invitee_line_user_id=line_user.id,
                    created_at=at,
                )
            )
            session.flush()
    except IntegrityError:  # the same friend's other message claimed first
        return ClaimResult(Claim.ALREADY_CLAIMED)
    return ClaimResult(Claim.ACCEPTED, inviter.name)


def credit_inviter(session: Session, member: Member, line_user: LineUser, at: datetime, tz: tzinfo) -> None:
    """The friend behind `line_user` has just joined as `member`: their inviter's invite missions move by one, once.
    Called by the join service in the join's transaction."""
    claimed = session.execute(
        update(InviteClaim)
        .where(InviteClaim.invitee_line_user_id == line_user.id, InviteClaim.joined_member_id.is_(None))
        .values(joined_member_id=member.id, joined_at=at)
        .returning(InviteClaim.inviter_member_id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if claimed is None:
        return
    inviter = session.get_one(Member, claimed)
    record_progress(session, inviter, "invite", 1, at=at, tz=tz)
