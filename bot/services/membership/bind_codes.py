"""Binding at the counter: a clerk issues a 6-digit code for a member, who types it in the chat within 10 minutes."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.membership.binding import BindingRefused, bind
from bot.services.rate_limits import BIND_CODE_WRONG, RateLimiter
from bot.services.refusals import Reason, Refused
from models import BindCode, LineUser, Member, Staff, Store

CODE_VALID_FOR = timedelta(minutes=10)
# A value collides with a live code about once in a hundred thousand issues while a few thousand are live.
_ISSUE_TRIES = 20


class _CodeTaken(Exception):
    """Another redemption claimed the code first."""


def issue_bind_code(session: Session, member: Member, *, store: Store, staff: Staff | None, now: datetime) -> BindCode:
    """Issue a single-use 6-digit code binding `member`, valid for 10 minutes; the member's earlier codes stop working.

    Refuses (BindingRefused) a member who is erased or already bound to a LINE account.
    """
    if member.erased_at is not None:
        raise BindingRefused(Reason.MEMBER_ERASED_CANNOT_BIND)
    if member.line_user_id is not None:
        raise BindingRefused(Reason.MEMBER_ALREADY_BOUND)
    session.execute(
        update(BindCode)
        .where(BindCode.member_id == member.id, BindCode.is_active.is_(True))
        .values(is_active=False)
        .execution_options(synchronize_session=False)
    )
    for _ in range(_ISSUE_TRIES):
        value = f"{secrets.randbelow(10**6):06d}"
        # An expired code keeps its value reserved in uq_bind_codes_active_code until it is switched off here.
        session.execute(
            update(BindCode)
            .where(BindCode.code == value, BindCode.is_active.is_(True), BindCode.expires_at <= now)
            .values(is_active=False)
            .execution_options(synchronize_session=False)
        )
        code = BindCode(
            code=value,
            member_id=member.id,
            staff_id=staff.id if staff else None,
            store_id=store.id,
            expires_at=now + CODE_VALID_FOR,
            created_at=now,
        )
        try:
            with session.begin_nested():
                session.add(code)
                session.flush()
        except IntegrityError:
            continue  # a live code has this value: draw another
        return code
    raise Refused(Reason.BIND_CODE_UNAVAILABLE)


def redeem_bind_code(
    session: Session, code: str, line_user: LineUser, now: datetime, *, limiter: RateLimiter
) -> Member:
    """Bind `line_user` to the member a live code was issued for, using the code up; returns the member.

    Refusals raise BindingRefused with a reason. A wrong, expired or used code is counted against the LINE user
    by the rate limiter (BIND_CODE_WRONG), whatever becomes of the transaction: after 5 within 10 minutes (the fifth
    is already answered `bind_code_too_many_tries`) every attempt is refused until the oldest of them is 10 minutes
    old. A refused bind (member bound to someone else, LINE user bound to another
    member) leaves the code unused.
    """
    # One LINE user's attempts run one at a time (the lock is held until the caller commits, after the wrong
    # attempt is counted), so parallel guesses cannot all pass the check below before any of them is counted.
    session.execute(select(LineUser.id).where(LineUser.id == line_user.id).with_for_update())
    if not limiter.test(BIND_CODE_WRONG, line_user.line_user_id):
        raise BindingRefused(Reason.BIND_CODE_TOO_MANY_TRIES)
    value = unicodedata.normalize("NFKC", code).strip().replace(" ", "").replace("-", "")
    row = None
    if re.fullmatch(r"\d{6}", value):
        row = session.scalars(
            select(BindCode).where(BindCode.code == value).order_by(BindCode.id.desc()).limit(1)
        ).one_or_none()
    if row is None:
        raise _refusal(limiter, line_user, Reason.BIND_CODE_WRONG)
    if row.used_at is not None:
        raise _refusal(limiter, line_user, Reason.BIND_CODE_USED)
    if not row.is_active or row.expires_at <= now:
        raise _refusal(limiter, line_user, Reason.BIND_CODE_EXPIRED)
    member = session.get(Member, row.member_id)
    assert member is not None
    try:
        with session.begin_nested():
            claimed = session.execute(
                update(BindCode)
                .where(
                    BindCode.id == row.id,
                    BindCode.used_at.is_(None),
                    BindCode.is_active.is_(True),
                    BindCode.expires_at > now,
                )
                .values(used_at=now, used_by_line_user_id=line_user.id, is_active=False)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not claimed:
                raise _CodeTaken
            bind(session, member, line_user, channel="counter", at=now, staff_id=row.staff_id, store_id=row.store_id)
    except _CodeTaken:
        raise _refusal(limiter, line_user, Reason.BIND_CODE_USED) from None
    return member


def _refusal(limiter: RateLimiter, line_user: LineUser, reason: Reason) -> BindingRefused:
    """Count a wrong attempt; the last one allowed (after which no more would be) already says so."""
    counted = limiter.hit(BIND_CODE_WRONG, line_user.line_user_id)
    if not counted or not limiter.test(BIND_CODE_WRONG, line_user.line_user_id):
        return BindingRefused(Reason.BIND_CODE_TOO_MANY_TRIES)
    return BindingRefused(reason)
