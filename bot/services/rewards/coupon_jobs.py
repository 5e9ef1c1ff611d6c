"""Daily coupon jobs: the birthday benefit of the silver and gold tiers, and the reminder before a coupon expires.

Both are safe to run again the same day: a birthday coupon is issued once per member and year (its source key),
and a reminder is written to the outbox once per coupon (its retry key is derived from the coupon).
Both write the pushes in the caller's transaction; `queued` collects their outbox ids to send after the commit.
"""

from __future__ import annotations

import calendar
import logging
import uuid
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import ColumnElement, and_, extract, or_, select
from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from bot.i18n import _, language_for
from bot.services.messaging.outbox import queue_push
from bot.services.rewards.coupon_rules import template_by_code
from bot.services.rewards.coupons import CouponRefused, issue_coupon, template_of
from bot.services.rewards.tiers import TIERS_BY_CODE
from handlers.coupons import coupon_bubble, last_day
from handlers.messages import flex
from models import Coupon, CouponTemplate, LineUser, Member, OutboundMessage

log = logging.getLogger(__name__)

REMIND_DAYS_BEFORE = 3
_REMINDER_KEYS = uuid.UUID("6f1d2c4e-8f0a-4c57-9a53-2f8e0c1b7d11")


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


def issue_birthday_coupons(session: Session, at: datetime, tz: tzinfo, *, queued: list[int] | None = None) -> int:
    """Give each member whose birthday is today (brand-local) their tier's birthday coupon, once a year, and push
    it to those bound to a LINE account. Returns how many coupons were issued now."""
    today = at.astimezone(tz).date()
    benefit = {code: tier.birthday_coupon for code, tier in TIERS_BY_CODE.items() if tier.birthday_coupon}
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
            _push_birthday(session, member, coupon, template, tz, queued)
    return issued


def _push_birthday(
    session: Session, member: Member, coupon: Coupon, template: CouponTemplate, tz: tzinfo, queued: list[int] | None
) -> None:
    line_user = member.line_user
    if line_user is None:
        return
    language = language_for(line_user.language)
    greeting = _(
        "生日快樂，{name}！送你一張生日禮「{coupon}」，祝你有美好的一天！",
        language,
        name=member.name or _("會員", language),
        coupon=template.name,
    )
    messages = [
        {"type": "text", "text": greeting},
        flex(greeting, coupon_bubble(language, tz, coupon, template)).to_dict(),
    ]
    rows = queue_push(session, line_user.line_user_id, messages)
    if queued is not None:
        queued.extend(row.id for row in rows)


def remind_expiring_coupons(session: Session, at: datetime, tz: tzinfo, *, queued: list[int] | None = None) -> int:
    """Tell bound, unblocked members about each unused coupon whose last day is 3 days from today (brand-local):
    "你的優惠券「X」將於 YYYY-MM-DD 到期". Once per coupon, however often it runs. Returns how many were written."""
    target = at.astimezone(tz).date() + timedelta(days=REMIND_DAYS_BEFORE)
    # A coupon's last day is the day of its last moment: it stops working in (target 00:00, target+1 00:00].
    starts = datetime.combine(target, time.min, tzinfo=tz)
    ends = datetime.combine(target + timedelta(days=1), time.min, tzinfo=tz)
    due = session.execute(
        select(Coupon, LineUser)
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
    written = 0
    for coupon, line_user in due:
        outbound_id = _remind(session, coupon, line_user, tz)
        if outbound_id is not None:
            written += 1
            if queued is not None:
                queued.append(outbound_id)
    return written


def _remind(session: Session, coupon: Coupon, line_user: LineUser, tz: tzinfo) -> int | None:
    """One reminder in the outbox, keyed by the coupon: a second one for the same coupon is not written."""
    language = language_for(line_user.language)
    template = template_of(session, coupon)
    text = _(
        "你的優惠券「{name}」將於 {date} 到期",
        language,
        name=template.name,
        date=last_day(coupon, tz).isoformat(),
    )
    messages = [{"type": "text", "text": text}, flex(text, coupon_bubble(language, tz, coupon, template)).to_dict()]
    retry_key = uuid.uuid5(_REMINDER_KEYS, f"coupon-expiry:{coupon.id}:{coupon.code}")
    row = {"kind": "push", "recipients": [line_user.line_user_id], "messages": messages, "retry_key": str(retry_key)}
    (outbound_id,) = insert_ignoring_conflicts(session, OutboundMessage.__table__, [row])
    return outbound_id
