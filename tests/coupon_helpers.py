"""Helpers for the coupon tests: templates, members with coupons, and a fixed clock passed as `at`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.services.rewards.coupons import issue_coupon
from models import Coupon, CouponRedemption, CouponTemplate, Member

# 12:00 in Taipei.
T0 = datetime(2025, 6, 1, 4, 0, tzinfo=UTC)


def make_template(sessions: sessionmaker[Session], code: str = "NT50OFF", **fields: Any) -> CouponTemplate:
    """A template: NT$50 off a spend of NT$300, valid 30 days after issue, unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "name": "滿 300 折 50",
        "kind": "amount_off",
        "value": 50,
        "min_spend": 300,
        "valid_days_after_issue": 30,
        **fields,
    }
    with transaction(sessions) as session:
        template = CouponTemplate(code=code, **values)
        session.add(template)
        session.flush()
        return template


def give(
    sessions: sessionmaker[Session], member: Member, template: CouponTemplate, key: str, at: datetime = T0
) -> tuple[Coupon, bool]:
    """Issue a coupon in its own transaction."""
    with transaction(sessions) as session:
        fresh_member = session.get(Member, member.id)
        fresh_template = session.get(CouponTemplate, template.id)
        assert fresh_member is not None and fresh_template is not None
        return issue_coupon(session, fresh_member, fresh_template, source="manual", source_key=key, at=at)


def redemptions(session: Session, coupon_id: int, *, live_only: bool = False) -> int:
    query = select(func.count(CouponRedemption.id)).where(CouponRedemption.coupon_id == coupon_id)
    if live_only:
        query = query.where(CouponRedemption.is_active.is_(True))
    return int(session.scalar(query) or 0)
