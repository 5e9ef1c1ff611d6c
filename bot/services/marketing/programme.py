"""Programme settings on the marketer's console: coupon templates edited with validation and a version history
(who changed what, when; every change also in the audit log, as the other settings), and a template issued by hand
to one member or to a saved segment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.marketing.segments import audience_for_marketing, count, members_matching
from bot.services.marketing.settings_forms import BAD_DATES, next_version
from bot.services.marketing.settings_forms import SettingsError as SettingsError
from bot.services.marketing.settings_forms import changed_fields as _changed_fields
from bot.services.marketing.settings_forms import day as _day
from bot.services.marketing.settings_forms import text as _text
from bot.services.marketing.settings_forms import whole as _whole
from bot.services.refusals import Reason
from bot.services.rewards.coupons import CouponRefused, issue_coupon
from bot.services.staff.audit import record_change
from models import Coupon, CouponTemplate, CouponTemplateVersion, Member, Segment, Staff

KINDS = ("amount_off", "percent_off", "free_item", "bogo")
# A hand issue to a segment runs in the request; a bigger audience is for a campaign with a coupon attached.
MAX_HAND_ISSUE = 1000
TOKEN = re.compile(r"^[0-9a-f]{32}$")

BAD_NAME = "請輸入名稱（最多 100 個字）"
BAD_KIND = "請選擇優惠券種類"
BAD_AMOUNT = "折抵金額請填 1 到 100,000 元"
BAD_PERCENT = "折扣請填 1 到 99（%）"
BAD_ITEM = "請輸入兌換或買一送一的品項（最多 100 個字）"
BAD_MIN_SPEND = "最低消費請填 0 到 10,000,000 元"
BAD_DAYS = "發券後有效天數請填 1 到 3650 天，或留空"
BAD_TOTAL = "發行總量請填 1 到 10,000,000，或留空（不限）"
TOTAL_BELOW_ISSUED = "發行總量不能少於已發出的 {issued} 張"
BAD_PER_MEMBER = "每人限領請填 1 到 1,000 張，或留空（不限）"
NO_SUCH_MEMBER = "找不到會員編號 {number}"
SEGMENT_TOO_BIG = "這個分群有 {count} 人，超過手動發券上限 {limit} 人，請改用推播活動附上優惠券"
BAD_FORM = "頁面已逾時，請重新整理後再送出"

SETTINGS_FIELDS = (
    "name",
    "kind",
    "value",
    "item",
    "min_spend",
    "valid_from",
    "valid_until",
    "valid_days_after_issue",
    "total_limit",
    "per_member_limit",
    "is_active",
    "redeemable_without_member",
)


@dataclass(frozen=True)
class TemplateSettings:
    """A coupon template's settings as the form gives them, validated (dates are brand-local days; the window
    ends at the start of `valid_until`'s next day)."""

    name: str
    kind: str
    value: int
    item: str | None
    min_spend: int
    valid_from: date | None
    valid_until: date | None
    valid_days_after_issue: int | None
    total_limit: int | None
    per_member_limit: int | None
    is_active: bool
    redeemable_without_member: bool

    @classmethod
    def from_form(cls, form: dict[str, str]) -> TemplateSettings:
        """Validate a posted form (SettingsError names the first wrong field)."""
        name = _text(form, "name")
        if not name or len(name) > 100:
            raise SettingsError(BAD_NAME, "name")
        kind = _text(form, "kind")
        if kind not in KINDS:
            raise SettingsError(BAD_KIND, "kind")
        value, item = 0, None
        if kind == "amount_off":
            value = _whole(form, "value", 1, 100_000, BAD_AMOUNT, optional=False) or 0
        elif kind == "percent_off":
            value = _whole(form, "value", 1, 99, BAD_PERCENT, optional=False) or 0
        else:
            item = _text(form, "item")
            if not item or len(item) > 100:
                raise SettingsError(BAD_ITEM, "item")
        min_spend = _whole(form, "min_spend", 0, 10_000_000, BAD_MIN_SPEND, optional=True) or 0
        valid_from, valid_until = _day(form, "valid_from"), _day(form, "valid_until")
        if valid_from and valid_until and valid_from > valid_until:
            raise SettingsError(BAD_DATES, "valid_until")
        return cls(
            name=name,
            kind=kind,
            value=value,
            item=item,
            min_spend=min_spend,
            valid_from=valid_from,
            valid_until=valid_until,
            valid_days_after_issue=_whole(form, "valid_days_after_issue", 1, 3650, BAD_DAYS, optional=True),
            total_limit=_whole(form, "total_limit", 1, 10_000_000, BAD_TOTAL, optional=True),
            per_member_limit=_whole(form, "per_member_limit", 1, 1000, BAD_PER_MEMBER, optional=True),
            is_active=form.get("is_active") == "yes",
            redeemable_without_member=form.get("redeemable_without_member") == "yes",
        )


def settings_of(template: CouponTemplate, tz: ZoneInfo) -> dict[str, Any]:
    """A template's settings as stored in a version (dates as brand-local days)."""

    def day(at: datetime | None, *, end: bool = False) -> str | None:
        if at is None:
            return None
        local = at.astimezone(tz)
        if end and local.time() == time():  # stored as the start of the next day
            return date.fromordinal(local.date().toordinal() - 1).isoformat()
        return local.date().isoformat()

    return {
        "name": template.name,
        "kind": template.kind,
        "value": template.value,
        "item": template.item,
        "min_spend": template.min_spend,
        "valid_from": day(template.valid_from),
        "valid_until": day(template.valid_until, end=True),
        "valid_days_after_issue": template.valid_days_after_issue,
        "total_limit": template.total_limit,
        "per_member_limit": template.per_member_limit,
        "is_active": template.is_active,
        "redeemable_without_member": template.redeemable_without_member,
    }


def list_templates(session: Session) -> list[CouponTemplate]:
    """Every coupon template, by code."""
    return list(session.scalars(select(CouponTemplate).order_by(CouponTemplate.code)))


def versions_of(session: Session, template: CouponTemplate) -> list[CouponTemplateVersion]:
    """A template's saved versions, newest first."""
    query = select(CouponTemplateVersion).where(CouponTemplateVersion.template_id == template.id)
    return list(session.scalars(query.order_by(CouponTemplateVersion.version.desc())))


def _add_version(
    session: Session, template: CouponTemplate, settings: dict[str, Any], staff: Staff | None, at: datetime
) -> None:
    session.add(
        CouponTemplateVersion(
            template_id=template.id,
            version=next_version(
                session, CouponTemplateVersion.version, CouponTemplateVersion.template_id == template.id
            ),
            settings=settings,
            staff_id=staff.id if staff else None,
            at=at,
        )
    )
    session.flush()


def update_template(
    session: Session, staff: Staff, template: CouponTemplate, new: TemplateSettings, at: datetime, tz: ZoneInfo
) -> bool:
    """Save new settings for a template, as a new version (the first edit also keeps how it was before as version
    1), and write the settings that changed (their new values) to the audit log. False when nothing changed. The
    total limit cannot go below the coupons already issued."""
    # Lock the template: a concurrent issue moves issued_count, and versions are numbered one at a time.
    session.execute(select(CouponTemplate.id).where(CouponTemplate.id == template.id).with_for_update())
    session.refresh(template)
    if new.total_limit is not None and new.total_limit < template.issued_count:
        raise SettingsError(TOTAL_BELOW_ISSUED, "total_limit", issued=template.issued_count)
    before = settings_of(template, tz)
    template.name, template.kind, template.value, template.item = new.name, new.kind, new.value, new.item
    template.min_spend = new.min_spend
    template.valid_from = datetime.combine(new.valid_from, time(), tz) if new.valid_from else None
    template.valid_until = (
        datetime.combine(date.fromordinal(new.valid_until.toordinal() + 1), time(), tz) if new.valid_until else None
    )
    template.valid_days_after_issue = new.valid_days_after_issue
    template.total_limit, template.per_member_limit = new.total_limit, new.per_member_limit
    template.is_active, template.redeemable_without_member = new.is_active, new.redeemable_without_member
    after = settings_of(template, tz)
    if after == before:
        return False
    if not versions_of(session, template):
        _add_version(session, template, before, None, template.created_at)
    _add_version(session, template, after, staff, at)
    changes = {key: after[key] for key in changed_fields(before, after)}
    record_change(session, staff, "coupon_template.update", template, at, code=template.code, **changes)
    return True


def changed_fields(older: dict[str, Any] | None, newer: dict[str, Any]) -> list[str]:
    """The settings that differ between two versions (none for the first)."""
    return _changed_fields(older, newer, SETTINGS_FIELDS)


# Issuing by hand.


def _check_token(token: str) -> None:
    if not TOKEN.match(token or ""):
        raise SettingsError(BAD_FORM)


def issue_to_member(
    session: Session, staff: Staff, template: CouponTemplate, member_number: str, token: str, at: datetime
) -> tuple[Coupon, bool]:
    """Issue the member with this number a coupon of `template`, once per form (`token`): (coupon, issued now).
    The member is told in the chat. SettingsError for an unknown member; CouponRefused for the template's limits."""
    _check_token(token)
    number = _text({"n": member_number}, "n").upper()
    member = session.scalars(select(Member).where(Member.member_number == number, Member.erased_at.is_(None))).first()
    if member is None:
        raise SettingsError(NO_SUCH_MEMBER, "member_number", number=number[:32] or "—")
    coupon, new = issue_coupon(
        session, member, template, source="manual", source_key=f"manual:{token}:{member.id}", at=at
    )
    if new:
        facts.record(session, facts.CouponIssued(member.id, coupon.id, source="manual"))
    return coupon, new


@dataclass(frozen=True)
class HandIssue:
    """What a hand issue to a segment did: coupons issued now, already issued by this form, members refused
    (per-member limit), and whether the template ran out on the way."""

    issued: int
    already: int
    refused: int
    sold_out: bool


def issue_to_segment(
    session: Session, staff: Staff, template: CouponTemplate, segment: Segment, token: str, at: datetime, tz: ZoneInfo
) -> HandIssue:
    """Issue a coupon of `template` to every member of `segment` (re-evaluated now), once per form (`token`).
    Only members a marketing message may reach are told in the chat; the others find it in their coupon list.
    Refused (SettingsError) above MAX_HAND_ISSUE members."""
    _check_token(token)
    members = members_matching(session, segment.definition, at, tz)
    size = count(session, members)
    if size > MAX_HAND_ISSUE:
        raise SettingsError(SEGMENT_TOO_BIG, count=size, limit=MAX_HAND_ISSUE)
    reachable = set(session.scalars(audience_for_marketing(session, segment, at, tz).with_only_columns(Member.id)))
    issued = already = refused = 0
    sold_out = False
    for member in session.scalars(select(Member).where(Member.id.in_(members)).order_by(Member.id)):
        try:
            with session.begin_nested():
                coupon, new = issue_coupon(
                    session, member, template, source="manual", source_key=f"manual:{token}:{member.id}", at=at
                )
        except CouponRefused as refusal:
            if refusal.reason in (Reason.COUPON_INACTIVE, Reason.COUPON_ENDED):
                raise
            if refusal.reason == Reason.COUPON_SOLD_OUT:
                sold_out = True
                break
            refused += 1
            continue
        if new:
            issued += 1
            if member.id in reachable:
                facts.record(session, facts.CouponIssued(member.id, coupon.id, source="manual"))
        else:
            already += 1
    return HandIssue(issued, already, refused, sold_out)
