"""Staff accounts: who may sign in to the back office, with which role, and their passwords (Argon2id).

A staff member signs in with their staff number (`Staff.code`) and password. Wrong tries are counted per staff
number and per address in the shared rate limiter; past the limit the number is locked for a while whatever the
password. An unknown number and a wrong password get the same answer after the same work, so the page never tells
which staff numbers exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.rate_limits import STAFF_SIGN_IN_PER_ADDRESS, STAFF_SIGN_IN_PER_CODE, RateLimiter
from bot.services.refusals import Reason, Refused
from bot.services.staff.audit import record_change
from models import Staff, Store
from models.store import STAFF_ROLES

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{2,32}")
ROLES_WITH_A_STORE = ("manager", "clerk")

_hasher = PasswordHasher()
# Checked against when the staff number is unknown, so both answers cost one Argon2 verification.
_DECOY_HASH = _hasher.hash("decoy password that no one has")


@dataclass(frozen=True)
class StaffDraft:
    """What an admin or manager fills in for a new staff member or a change."""

    code: str
    name: str
    role: str
    store_id: int | None


def hash_password(password: str) -> str:
    """The Argon2id hash stored for a password that is long enough; PASSWORD_TOO_SHORT otherwise."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Refused(Reason.PASSWORD_TOO_SHORT, length=MIN_PASSWORD_LENGTH)
    return _hasher.hash(password[:MAX_PASSWORD_LENGTH])


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DECOY_HASH, password[:MAX_PASSWORD_LENGTH])
    except (VerificationError, InvalidHashError):
        return False


def sign_in(session: Session, limiter: RateLimiter, code: str, password: str, address: str, at: datetime) -> Staff:
    """The active staff member with this staff number and password; SIGN_IN_FAILED for any wrong pair (unknown
    number, wrong password, deactivated, no password set) and SIGN_IN_LOCKED after too many wrong tries."""
    code_key = code.strip().upper()[:64]
    if not limiter.test(STAFF_SIGN_IN_PER_CODE, code_key) or not limiter.test(STAFF_SIGN_IN_PER_ADDRESS, address):
        raise Refused(Reason.SIGN_IN_LOCKED, minutes=STAFF_SIGN_IN_PER_CODE.per // 60)
    # A number no staff member can have (a NUL, a control character) is not looked up: PostgreSQL refuses a text
    # with a NUL outright. It is an unknown number like any other, after the same work.
    lookup = select(Staff).where(func.upper(Staff.code) == code_key)
    staff = session.scalars(lookup).one_or_none() if code_key.isprintable() else None
    matches = _password_matches(staff.password_hash if staff else None, password)
    if staff is None or not matches or not staff.is_active or staff.password_hash is None:
        limiter.hit(STAFF_SIGN_IN_PER_CODE, code_key)
        limiter.hit(STAFF_SIGN_IN_PER_ADDRESS, address)
        raise Refused(Reason.SIGN_IN_FAILED)
    limiter.clear(STAFF_SIGN_IN_PER_CODE, code_key)
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password[:MAX_PASSWORD_LENGTH])
    staff.last_login_at = at
    return staff


def signed_in_staff(session: Session, staff_id: int, session_version: int) -> Staff | None:
    """The staff member a back-office session belongs to, while it is still good: the account is active and its
    password has not changed since (the session's version is the account's)."""
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.is_active or staff.session_version != session_version:
        return None
    return staff


def _checked(session: Session, draft: StaffDraft, *, existing: Staff | None) -> StaffDraft:
    code, name = draft.code.strip(), draft.name.strip()
    if not CODE_PATTERN.fullmatch(code):
        raise Refused(Reason.STAFF_CODE_INVALID)
    if not name or len(name) > 100 or not name.isprintable():
        raise Refused(Reason.STAFF_NAME_INVALID)
    if draft.role not in STAFF_ROLES:
        raise Refused(Reason.STAFF_ROLE_INVALID)
    store_id = draft.store_id
    if draft.role in ROLES_WITH_A_STORE and (store_id is None or session.get(Store, store_id) is None):
        raise Refused(Reason.STAFF_STORE_REQUIRED)
    if store_id is not None and session.get(Store, store_id) is None:
        raise Refused(Reason.STORE_UNKNOWN, store_code=str(store_id))
    taken = session.scalars(select(Staff.id).where(func.upper(Staff.code) == code.upper())).first()
    if taken is not None and (existing is None or taken != existing.id):
        raise Refused(Reason.STAFF_CODE_TAKEN, code=code)
    return StaffDraft(code=code, name=name, role=draft.role, store_id=store_id)


def _ensure_an_admin_remains(session: Session, staff: Staff) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(Staff)
        .where(Staff.role == "admin", Staff.is_active.is_(True), Staff.id != staff.id)
    )
    if not others:
        raise Refused(Reason.LAST_ADMIN)


def create_staff(
    session: Session, draft: StaffDraft, password: str | None, *, actor: Staff | None, at: datetime
) -> Staff:
    """Add a staff member (with a password when they sign in to the back office); audited."""
    checked = _checked(session, draft, existing=None)
    staff = Staff(
        code=checked.code,
        name=checked.name,
        role=checked.role,
        store_id=checked.store_id,
        password_hash=hash_password(password) if password else None,
    )
    session.add(staff)
    session.flush()
    record_change(session, actor, "staff.create", staff, at, role=staff.role, store_id=staff.store_id, code=staff.code)
    return staff


def update_staff(session: Session, staff: Staff, draft: StaffDraft, *, actor: Staff | None, at: datetime) -> Staff:
    """Change a staff member's number, name, role or store; audited with what changed."""
    checked = _checked(session, draft, existing=staff)
    if staff.role == "admin" and checked.role != "admin" and staff.is_active:
        _ensure_an_admin_remains(session, staff)
    changes = {
        field: value
        for field, value in (
            ("code", checked.code),
            ("name", checked.name),
            ("role", checked.role),
            ("store_id", checked.store_id),
        )
        if getattr(staff, field) != value
    }
    for field, value in changes.items():
        setattr(staff, field, value)
    if "role" in changes or "store_id" in changes:
        staff.session_version += 1  # what a session may do was decided at sign-in
    if changes:
        session.flush()
        record_change(session, actor, "staff.update", staff, at, **changes)
    return staff


def set_active(session: Session, staff: Staff, active: bool, *, actor: Staff | None, at: datetime) -> Staff:
    """Deactivate (signed out everywhere, refused by the POS API as a clerk) or reactivate a staff member."""
    if staff.is_active == active:
        return staff
    if not active and staff.role == "admin":
        _ensure_an_admin_remains(session, staff)
    staff.is_active = active
    staff.session_version += 1
    session.flush()
    record_change(session, actor, "staff.activate" if active else "staff.deactivate", staff, at)
    return staff


def set_password(session: Session, staff: Staff, password: str, *, actor: Staff | None, at: datetime) -> Staff:
    """Give a staff member a new password; every session signed in before ends. Audited (never the password)."""
    staff.password_hash = hash_password(password)
    staff.session_version += 1
    session.flush()
    record_change(session, actor, "staff.password", staff, at)
    return staff


def change_own_password(session: Session, staff: Staff, current: str, new: str, at: datetime) -> Staff:
    """A signed-in staff member changes their own password, proving the current one first."""
    if not _password_matches(staff.password_hash, current):
        raise Refused(Reason.PASSWORD_WRONG)
    return set_password(session, staff, new, actor=staff, at=at)


def create_admin(session: Session, code: str, name: str, password: str, at: datetime) -> Staff:
    """The first (or another) admin, made at the command line."""
    return create_staff(
        session, StaffDraft(code=code, name=name, role="admin", store_id=None), password, actor=None, at=at
    )
