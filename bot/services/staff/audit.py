"""The back office's audit trail: every change staff make, who made it and when (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiKey, Staff, StaffAudit, Store

Target = Staff | Store | ApiKey
TARGET_TYPES: dict[type, str] = {Staff: "staff", Store: "store", ApiKey: "api_key"}


def record_change(
    session: Session, actor: Staff | None, action: str, target: Target, at: datetime, **detail: Any
) -> StaffAudit:
    """Write one audit row: `actor` did `action` to `target` (None: the `omo` command). `detail` holds what
    changed; callers never pass a password, key or token."""
    row = StaffAudit(
        at=at,
        actor_staff_id=actor.id if actor else None,
        action=action,
        target_type=TARGET_TYPES[type(target)],
        target_id=target.id,
        detail=detail,
    )
    session.add(row)
    return row


def recent_changes(session: Session, *, limit: int = 200, store_id: int | None = None) -> list[StaffAudit]:
    """The newest audit rows first; with `store_id`, only changes to that store and its staff."""
    query = select(StaffAudit).order_by(StaffAudit.at.desc(), StaffAudit.id.desc()).limit(limit)
    if store_id is not None:
        store_staff = select(Staff.id).where(Staff.store_id == store_id)
        query = query.where(
            ((StaffAudit.target_type == "staff") & StaffAudit.target_id.in_(store_staff))
            | ((StaffAudit.target_type == "store") & (StaffAudit.target_id == store_id))
        )
    return list(session.scalars(query))
