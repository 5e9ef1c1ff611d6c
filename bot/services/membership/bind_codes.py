"""Binding at the counter: a clerk issues a 6-digit code for a member, who types it in the chat within 10 minutes."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.membership.binding import BindingRefused, bind
from bot.services.membership.members import MemberError
from models import BindCode, LineUser, Member, Staff, Store
from models.binding import BindCodeFailure

CODE_VALID_FOR = timedelta(minutes=10)
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(minutes=10)
# The texts a LINE user may be answered with (fixed, so that the chat can translate them).
WRONG_CODE = "綁定碼不正確，請確認後再輸入"
USED_CODE = "此綁定碼已使用過，請洽門市人員重新產生"
EXPIRED_CODE = "此綁定碼已失效，請洽門市人員重新產生"
TOO_MANY_WRONG_CODES = "綁定碼輸入錯誤太多次，請 10 分鐘後再試"
# A value collides with a live code about once in a hundred thousand issues while a few thousand are live.
_ISSUE_TRIES = 20


class _CodeTaken(Exception):
    """Another redemption claimed the code first."""


def issue_bind_code(session: Session, member: Member, *, store: Store, staff: Staff | None, now: datetime) -> BindCode:
    """Issue a single-use 6-digit code binding `member`, valid for 10 minutes; the member's earlier codes stop working.

    Refuses (BindingRefused) a member who is erased or already bound to a LINE account.
    """
    if member.erased_at is not None:
        raise BindingRefused("此會員資料已刪除，無法綁定")
    if member.line_user_id is not None:
        raise BindingRefused("此會員已綁定 LINE 帳號，如需更換請先解除綁定")
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
    raise MemberError("目前無法產生綁定碼，請稍後再試")


def redeem_bind_code(session: Session, code: str, line_user: LineUser, now: datetime) -> Member:
    """Bind `line_user` to the member a live code was issued for, using the code up; returns the member.

    Refusals raise BindingRefused (or MemberError) with a fixed zh-TW message. A wrong, expired or used code is
    counted against the LINE user in this session's transaction, which the caller commits even when this raises:
    after 5 within 10 minutes (the fifth is already answered TOO_MANY_WRONG_CODES) every attempt is refused until the
    oldest of them is 10 minutes old. A refused bind (member bound to someone else, LINE user bound to another
    member) leaves the code unused.
    """
    # One LINE user's attempts run one at a time, so parallel guesses cannot slip past the limit.
    session.execute(select(LineUser.id).where(LineUser.id == line_user.id).with_for_update())
    failures = _recent_failures(session, line_user, now)
    if failures >= MAX_WRONG_CODES:
        raise BindingRefused(TOO_MANY_WRONG_CODES)
    value = unicodedata.normalize("NFKC", code).strip().replace(" ", "").replace("-", "")
    row = None
    if re.fullmatch(r"\d{6}", value):
        row = session.scalars(
            select(BindCode).where(BindCode.code == value).order_by(BindCode.id.desc()).limit(1)
        ).one_or_none()
    if row is None:
        raise _refusal(session, line_user, now, failures, WRONG_CODE)
    if row.used_at is not None:
        raise _refusal(session, line_user, now, failures, USED_CODE)
    if not row.is_active or row.expires_at <= now:
        raise _refusal(session, line_user, now, failures, EXPIRED_CODE)
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
        raise _refusal(session, line_user, now, failures, USED_CODE) from None
    return member


def _recent_failures(session: Session, line_user: LineUser, now: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(BindCodeFailure)
            .where(BindCodeFailure.line_user_id == line_user.id, BindCodeFailure.created_at > now - WRONG_CODE_WINDOW)
        )
        or 0
    )


def _refusal(session: Session, line_user: LineUser, now: datetime, failures: int, reason: str) -> BindingRefused:
    """Count a wrong attempt (forgetting ones older than the window); the last one allowed says so."""
    session.execute(
        delete(BindCodeFailure).where(
            BindCodeFailure.line_user_id == line_user.id, BindCodeFailure.created_at <= now - WRONG_CODE_WINDOW
        )
    )
    session.add(BindCodeFailure(line_user_id=line_user.id, created_at=now))
    session.flush()
    if failures + 1 >= MAX_WRONG_CODES:
        return BindingRefused(TOO_MANY_WRONG_CODES)
    return BindingRefused(reason)
