"""LINE's account-link flow: link tokens LINE issued, the nonce that names the proven member, the final bind.

1. The chat handler asks LINE for a link token and records it here (`record_link_token`).
2. On the bind page the shopper proves they own a membership (phone + SMS code); `start_account_link` then makes a
   single-use nonce tied to that member and that LINE user, and the page sends the shopper to LINE's dialog.
3. LINE sends an `accountLink` event with the nonce; `complete_account_link` binds, once, and only for the LINE user
   the nonce was made for: nobody can bind their LINE account to someone else's membership.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.membership.binding import bind
from bot.services.membership.line_users import find_line_user
from bot.services.membership.members import find_by_phone, member_of
from bot.services.refusals import Reason, Refused
from models import AccountLinkNonce, LineUser, LinkToken, Member, PhoneVerification

log = logging.getLogger(__name__)

LINK_TOKEN_VALID_FOR = timedelta(minutes=10)
NONCE_VALID_FOR = timedelta(minutes=10)


class AccountLinkRefused(Refused):
    """The account-link step cannot happen; nothing was changed."""


def record_link_token(session: Session, line_user: LineUser, token: str, now: datetime) -> LinkToken:
    """Remember a link token LINE issued for this user; like LINE's, it is good for 10 minutes."""
    row = LinkToken(token=token, line_user_id=line_user.id, created_at=now, expires_at=now + LINK_TOKEN_VALID_FOR)
    session.add(row)
    session.flush()
    return row


def check_link_token(session: Session, line_user: LineUser, token: str, now: datetime) -> LinkToken:
    """The recorded link token for this user, if it is still usable: known, unexpired and not spent.

    A token is spent once an account link of this LINE user has completed after it was issued (LINE takes each
    token once), and once the LINE user is bound: there is nothing left to link.
    """
    row = session.scalars(select(LinkToken).where(LinkToken.token == token)).one_or_none()
    if row is None or row.line_user_id != line_user.id:
        raise AccountLinkRefused(Reason.LINK_TOKEN_UNKNOWN)
    if member_of(session, line_user) is not None:
        raise AccountLinkRefused(Reason.LINE_USER_ALREADY_BOUND)
    completed_since = session.scalar(
        select(AccountLinkNonce.id).where(
            AccountLinkNonce.line_user_id == line_user.id, AccountLinkNonce.used_at >= row.created_at
        )
    )
    if now >= row.expires_at or completed_since is not None:
        raise AccountLinkRefused(Reason.LINK_TOKEN_SPENT)
    return row


def start_account_link(
    session: Session, line_user: LineUser, verification: PhoneVerification, now: datetime
) -> AccountLinkNonce:
    """After the phone was verified: a fresh nonce for LINE's dialog, naming that phone's member and this LINE user.

    The nonce is unpredictable (`secrets`), single use and good for 10 minutes.
    """
    if verification.verified_at is None or verification.line_user_id != line_user.id:
        raise AccountLinkRefused(Reason.PHONE_NOT_VERIFIED)
    if member_of(session, line_user) is not None:
        raise AccountLinkRefused(Reason.LINE_USER_ALREADY_BOUND)
    member = find_by_phone(session, verification.phone_e164)
    if member is None:
        raise AccountLinkRefused(Reason.NO_MEMBER_WITH_PHONE)
    _check_member_can_bind(member, line_user)
    nonce = AccountLinkNonce(
        nonce=secrets.token_urlsafe(32),
        member_id=member.id,
        line_user_id=line_user.id,
        created_at=now,
        expires_at=now + NONCE_VALID_FOR,
    )
    session.add(nonce)
    session.flush()
    return nonce


def complete_account_link(session: Session, line_user_id: str, nonce: str, result: str, now: datetime) -> Member:
    """LINE's `accountLink` event: bind the nonce's member to this LINE user, once; returns the member.

    Refused (with nothing changed) when LINE reports a failed link, or the nonce is unknown, used, expired or was
    made for another LINE user.
    """
    if result != "ok":
        raise AccountLinkRefused(Reason.ACCOUNT_LINK_FAILED)
    line_user = find_line_user(session, line_user_id)
    row = session.scalars(
        select(AccountLinkNonce).where(AccountLinkNonce.nonce == nonce).with_for_update()
    ).one_or_none()
    if row is None or line_user is None:
        raise AccountLinkRefused(Reason.NONCE_UNKNOWN)
    if row.line_user_id != line_user.id:
        log.warning("account link refused: nonce %s was made for another LINE user", row.id)
        raise AccountLinkRefused(Reason.NONCE_NOT_YOURS)
    if row.used_at is not None:
        raise AccountLinkRefused(Reason.NONCE_USED)
    if now >= row.expires_at:
        raise AccountLinkRefused(Reason.NONCE_EXPIRED)
    member = session.get_one(Member, row.member_id)
    _check_member_can_bind(member, line_user)
    bind(session, member, line_user, channel="account_link", at=now)
    row.used_at = now
    session.flush()
    return member


def _check_member_can_bind(member: Member, line_user: LineUser) -> None:
    if member.erased_at is not None:
        raise AccountLinkRefused(Reason.MEMBER_ERASED_CANNOT_BIND)
    if member.line_user_id is not None and member.line_user_id != line_user.id:
        raise AccountLinkRefused(Reason.MEMBER_BOUND_ELSEWHERE)
