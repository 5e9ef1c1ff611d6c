"""The back office's audit trail: every change staff make, who made it and when (append-only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    ApiKey,
    CouponTemplate,
    Product,
    Segment,
    Staff,
    StaffAudit,
    StampCardTemplate,
    Store,
    Tag,
    TaskSettingsVersion,
    TierSettingsVersion,
)

Target = (
    Staff
    | Store
    | ApiKey
    | Segment
    | Tag
    | Product
    | CouponTemplate
    | StampCardTemplate
    | TierSettingsVersion
    | TaskSettingsVersion
)
TARGET_TYPES: dict[type, str] = {
    Staff: "staff",
    Store: "store",
    ApiKey: "api_key",
    Segment: "segment",
    Tag: "tag",
    Product: "product",
    CouponTemplate: "coupon_template",
    StampCardTemplate: "stamp_card_template",
    TierSettingsVersion: "tier_settings",
    TaskSettingsVersion: "task_settings",
}


def record_change(
    session: Session, actor: Staff | None, action: str, target: Target | type[Product], at: datetime, **detail: Any
) -> StaffAudit:
    """Write one audit row: `actor` did `action` to `target` (None: the `omo` command), or to many of a kind at
    once when `target` is the model (a product import: no target id). `detail` holds what changed; callers never
    pass a password, key or token."""
    row = StaffAudit(
        at=at,
        actor_staff_id=actor.id if actor else None,
        action=action,
        target_type=TARGET_TYPES[target if isinstance(target, type) else type(target)],
        target_id=None if isinstance(target, type) else target.id,
        detail=detail,
    )
    session.add(row)
    return row


def recent_changes(
    session: Session, *, limit: int = 200, store_id: int | None = None, before_id: int | None = None
) -> list[StaffAudit]:
    """The newest audit rows first; with `store_id`, only changes to that store and its staff; with `before_id`,
    only rows older than that one (the next page)."""
    query = select(StaffAudit).order_by(StaffAudit.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(StaffAudit.id < before_id)
    if store_id is not None:
        store_staff = select(Staff.id).where(Staff.store_id == store_id)
        query = query.where(
            ((StaffAudit.target_type == "staff") & StaffAudit.target_id.in_(store_staff))
            | ((StaffAudit.target_type == "store") & (StaffAudit.target_id == store_id))
        )
    return list(session.scalars(query))


@dataclass(frozen=True)
class AuditSubjects:
    """The staff, stores and keys a list of audit rows names (as actor, target or a changed store), by id; one
    deleted since is simply missing."""

    staff: dict[int, Staff]
    stores: dict[int, Store]
    api_keys: dict[int, ApiKey]


def subjects_of(session: Session, rows: list[StaffAudit]) -> AuditSubjects:
    """Everyone and everything `rows` name, fetched in three queries."""
    ids: dict[str, set[int]] = {"staff": set(), "store": set(), "api_key": set()}
    for row in rows:
        if row.actor_staff_id is not None:
            ids["staff"].add(row.actor_staff_id)
        if row.target_id is not None and row.target_type in ids:
            ids[row.target_type].add(row.target_id)
        if isinstance(row.detail.get("store_id"), int):
            ids["store"].add(row.detail["store_id"])
    return AuditSubjects(
        staff={s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(ids["staff"])))},
        stores={s.id: s for s in session.scalars(select(Store).where(Store.id.in_(ids["store"])))},
        api_keys={k.id: k for k in session.scalars(select(ApiKey).where(ApiKey.id.in_(ids["api_key"])))},
    )
