"""Daily coupon jobs: the birthday benefit of the silver and gold tiers, and the reminder before a coupon expires.

Both are safe to run again the same day: a birthday coupon is issued once per member and year (its source key),
and a reminder is said once per coupon (`coupons.expiry_reminded_at`). Both record facts
(`CouponIssued`, `CouponExpiring`) that the dispatcher turns into pushes.
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import ColumnElement, and_, extract, or_, select, update
from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.rewards.coupon_rules import template_by_code
from bot.services.rewards.coupons import CouponRefused, issue_coupon
from bot.services.rewards.tiers import current_tiers
from models import Coupon, CouponTemplate, LineUser, Member

log = logging.getLogger(__name__)

REMIND_DAYS_BEFORE = 3


def _birthdays_today(today: date) -> ColumnElement[bool]:
    """Members born on this month and day; on 28 February of a common year, those born on 29 February too."""
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        days.append((2, 29))
    return or_(
        *(
            and_(extract("month", Member.birthday) == month, extract("day", Member.birthday) == day)
            for month, day in days
        )
    )


def issue_birthday_coupons(session: Session, at: datetime, tz: tzinfo) -> int:
    """Give each member whose birthday is today (brand-local) their tier's birthday coupon, once a year, and push
    it to those bound to a LINE account. Returns how many coupons were issued now."""
    today = at.astimezone(tz).date()
    benefit = {tier.code: tier.birthday_coupon for tier in current_tiers(session) if tier.birthday_coupon}
    born_today = session.scalars(
        select(Member)
        .where(Member.erased_at.is_(None), Member.tier.in_(benefit), _birthdays_today(today))
        .order_by(Member.id)
    ).all()
    templates: dict[str, CouponTemplate | None] = {}
    issued = 0
    for member in born_today:
        code = benefit[member.tier]
        if code not in templates:
            templates[code] = template_by_code(session, code)
        template = templates[code]
        if template is None:
            log.warning("no coupon template %s for the %s birthday benefit", code, member.tier)
            continue
        key = f"birthday:{member.id}:{today.year}"
        try:
            coupon, created = issue_coupon(session, member, template, source="birthday", source_key=key, at=at)
        except CouponRefused as refused:
            log.info("no birthday coupon for member %s: %s", member.id, refused.reason)
            continue
        if created:
            issued += 1
            facts.record(session, facts.CouponIssued(member.id, coupon.id, source="birthday"))
    return issued


def remind_expiring_coupons(session: Session, at: datetime, tz: tzinfo) -> int:
    """Tell bound, unblocked members about each unused coupon whose last day is 3 days from today (brand-local):
    "您的優惠券「X」將於 YYYY-MM-DD 到期" (`CouponExpiring`; said once per coupon however often it runs). How many."""
    target = at.astimezone(tz).date() + timedelta(days=REMIND_DAYS_BEFORE)
    # A coupon's last day is the day of its last moment: it stops working in (target 00:00, target+1 00:00].
    starts = datetime.combine(target, time.min, tzinfo=tz)
    ends = datetime.combine(target + timedelta(days=1), time.min, tzinfo=tz)
    due = session.execute(
        select(Coupon, LineUser.id)
        .join(Member, Coupon.member_id == Member.id)
        .join(LineUser, Member.line_user_id == LineUser.id)
        .where(
            Coupon.redeemed_at.is_(None),
            Coupon.voided_at.is_(None),
            Coupon.expires_at > max(starts, at),
            Coupon.expires_at <= ends,
            Member.erased_at.is_(None),
            LineUser.is_blocked.is_(False),
        )
        .order_by(Coupon.id)
    ).all()
    reminded = 0
    for coupon, _line_user_id in due:
        # Conditional, so a job running twice (or twice at once) reminds of each coupon once.
        marked = session.execute(
            update(Coupon)
            .where(Coupon.id == coupon.id, Coupon.expiry_reminded_at.is_(None))
            .values(expiry_reminded_at=at)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if marked:
            facts.record(session, facts.CouponExpiring(coupon.member_id, coupon.id))
            reminded += 1
    return reminded
