"""Who may manage whom in the back office: admins manage every store and every staff member; a store manager
manages only the clerks of their own store (they cannot make anyone a manager, admin or marketer).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from bot.services.staff.accounts import StaffDraft
from models import Staff
from models.store import STAFF_ROLES


def roles_assignable_by(actor: Staff) -> tuple[str, ...]:
    """The roles `actor` may give: every role for an admin, clerk for a manager, none for anyone else."""
    if actor.role == "admin":
        return STAFF_ROLES
    if actor.role == "manager":
        return ("clerk",)
    return ()


def may_manage(actor: Staff, staff: Staff) -> bool:
    """Whether `actor` may change `staff` (an admin: anyone; a manager: a clerk of their own store)."""
    if actor.role == "admin":
        return True
    return actor.role == "manager" and staff.role == "clerk" and staff.store_id == actor.store_id


def ensure_may_manage(actor: Staff, staff: Staff | None = None, draft: StaffDraft | None = None) -> None:
    """STAFF_OUTSIDE_STORE unless `actor` may change `staff` and may make them what `draft` says."""
    if staff is not None and not may_manage(actor, staff):
        raise Refused(Reason.STAFF_OUTSIDE_STORE)
    if draft is None or actor.role == "admin":
        return
    if draft.role not in roles_assignable_by(actor) or draft.store_id != actor.store_id:
        raise Refused(Reason.STAFF_OUTSIDE_STORE)


def managed_staff(session: Session, staff_id: int, actor: Staff) -> Staff:
    """The staff member `actor` is about to change: STAFF_NOT_FOUND when there is none, STAFF_OUTSIDE_STORE when
    they are not `actor`'s to manage."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise Refused(Reason.STAFF_NOT_FOUND)
    ensure_may_manage(actor, staff)
    return staff


def staff_directory(session: Session, *, store_id: int | None = None, active: bool | None = None) -> list[Staff]:
    """Staff members by store then staff number; only one store's with `store_id`, only the active (or inactive)
    ones with `active`."""
    query = select(Staff).order_by(Staff.store_id.is_(None), Staff.store_id, Staff.code)
    if store_id is not None:
        query = query.where(Staff.store_id == store_id)
    if active is not None:
        query = query.where(Staff.is_active.is_(active))
    return list(session.scalars(query))
