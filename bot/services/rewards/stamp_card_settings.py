"""Stamp-card templates as the marketer sets them up: create one, edit its terms, each change kept as a version
(who, when, every setting) and written to the audit log.

What a change means for cards already in progress (the template's terms are read when a stamp is given, nothing is
copied onto a card):
- Stamps already on a card are never taken away, and a card's expiry date, fixed at its first stamp, stays.
- A new number of stamps to fill applies to open cards at their next stamp: a card that already holds as many as
  the new number fills (and gives its reward) at its next stamp, a card below it needs the new number.
- A new reward applies to cards filled from then on; a new earning rule or daily limit to stamps given from then on.
- A new validity applies to cards whose first stamp comes after the change.
- A template switched off gives no more stamps; its open cards stay until they expire and can fill again if it is
  switched back on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.marketing.settings_forms import SettingsError, changed_fields, next_version, text, whole
from bot.services.staff.audit import record_change
from models import CouponTemplate, Staff, StampCard, StampCardTemplate, StampCardTemplateVersion

RULES = ("per_amount", "per_visit")
CODE = re.compile(r"^[A-Z0-9_-]{1,32}$")
BAD_CODE = "代碼請用英文大寫字母、數字、- 或 _（最多 32 字）"
CODE_TAKEN = "代碼「{code}」已經有集點卡在用"
BAD_NAME = "請輸入名稱（最多 100 個字）"
BAD_RULE = "請選擇集點方式"
BAD_AMOUNT = "每滿多少元集一點請填 1 到 100,000 元"
BAD_TO_FILL = "集滿點數請填 1 到 100 點"
BAD_DAILY_LIMIT = "每日上限請填 1 到 100 點，或留空（不限）"
BAD_VALID_DAYS = "有效天數請填 1 到 3650 天，或留空（不限）"
BAD_REWARD = "集滿獎勵請從啟用中的優惠券選擇，或選「不送」"
SETTINGS_FIELDS = (
    "name",
    "rule",
    "amount_per_stamp",
    "stamps_to_fill",
    "daily_limit",
    "valid_days",
    "reward_coupon_template_id",
    "is_active",
)


def reward_choices(session: Session) -> list[CouponTemplate]:
    """The coupon templates a full card may give: the active ones, by code."""
    query = select(CouponTemplate).where(CouponTemplate.is_active.is_(True)).order_by(CouponTemplate.code)
    return list(session.scalars(query))


@dataclass(frozen=True)
class StampCardSettings:
    """A stamp-card template's settings as a form gives them, validated."""

    name: str
    rule: str
    amount_per_stamp: int | None
    stamps_to_fill: int
    daily_limit: int | None
    valid_days: int | None
    reward_coupon_template_id: int | None
    is_active: bool

    @classmethod
    def from_form(
        cls, session: Session, form: dict[str, str], current: StampCardTemplate | None = None
    ) -> StampCardSettings:
        """Validate a posted form (SettingsError names the first wrong field). The reward is an active coupon
        template or none; a template may keep the reward it has even if that coupon was switched off since."""
        name = text(form, "name")
        if not name or len(name) > 100:
            raise SettingsError(BAD_NAME, "name")
        rule = text(form, "rule")
        if rule not in RULES:
            raise SettingsError(BAD_RULE, "rule")
        amount = (
            whole(form, "amount_per_stamp", 1, 100_000, BAD_AMOUNT, optional=False) if rule == "per_amount" else None
        )
        reward_raw = text(form, "reward_coupon_template_id")
        reward: int | None = None
        if reward_raw:
            active = {template.id for template in reward_choices(session)}
            kept = current is not None and reward_raw == str(current.reward_coupon_template_id)
            if not reward_raw.isascii() or not reward_raw.isdigit() or len(reward_raw) > 9:
                raise SettingsError(BAD_REWARD, "reward_coupon_template_id")
            reward = int(reward_raw)
            if reward not in active and not kept:
                raise SettingsError(BAD_REWARD, "reward_coupon_template_id")
        return cls(
            name=name,
            rule=rule,
            amount_per_stamp=amount,
            stamps_to_fill=whole(form, "stamps_to_fill", 1, 100, BAD_TO_FILL, optional=False) or 1,
            daily_limit=whole(form, "daily_limit", 1, 100, BAD_DAILY_LIMIT, optional=True),
            valid_days=whole(form, "valid_days", 1, 3650, BAD_VALID_DAYS, optional=True),
            reward_coupon_template_id=reward,
            is_active=form.get("is_active") == "yes",
        )


def settings_of(template: StampCardTemplate) -> dict[str, Any]:
    """A template's settings as a version stores them."""
    return {key: getattr(template, key) for key in SETTINGS_FIELDS}


def _apply(template: StampCardTemplate, new: StampCardSettings) -> None:
    for key in SETTINGS_FIELDS:
        setattr(template, key, getattr(new, key))


def _add_version(session: Session, template: StampCardTemplate, staff: Staff | None, at: datetime) -> None:
    where = StampCardTemplateVersion.template_id == template.id
    session.add(
        StampCardTemplateVersion(
            template_id=template.id,
            version=next_version(session, StampCardTemplateVersion.version, where),
            settings=settings_of(template),
            staff_id=staff.id if staff else None,
            at=at,
        )
    )
    session.flush()


def list_templates(session: Session) -> list[StampCardTemplate]:
    """Every stamp-card template, by code."""
    return list(session.scalars(select(StampCardTemplate).order_by(StampCardTemplate.code)))


def open_cards(session: Session, template: StampCardTemplate) -> int:
    """How many members hold an open card of this template with stamps on it (what a change reaches)."""
    query = select(func.count()).where(
        StampCard.template_id == template.id, StampCard.is_open.is_(True), StampCard.stamps > 0
    )
    return int(session.scalar(query) or 0)


def create_template(
    session: Session, staff: Staff, code: str, new: StampCardSettings, at: datetime
) -> StampCardTemplate:
    """A new stamp-card template with this code (upper case; SettingsError when malformed or taken) and settings,
    saved as its version 1 and in the audit log."""
    clean = text({"code": code}, "code").upper()
    if not CODE.fullmatch(clean):
        raise SettingsError(BAD_CODE, "code")
    if session.scalars(select(StampCardTemplate.id).where(StampCardTemplate.code == clean)).first() is not None:
        raise SettingsError(CODE_TAKEN, "code", code=clean)
    template = StampCardTemplate(code=clean, created_at=at)
    _apply(template, new)
    session.add(template)
    session.flush()
    _add_version(session, template, staff, at)
    record_change(session, staff, "stamp_card_template.create", template, at, code=clean, **settings_of(template))
    return template


def update_template(
    session: Session, staff: Staff, template: StampCardTemplate, new: StampCardSettings, at: datetime
) -> bool:
    """Save new settings for a template as a new version (the first edit also keeps how it was before as version
    1) and in the audit log. False when nothing changed. See the module's note for what it means for open cards."""
    # Versions are numbered one at a time: a second save waits here for the first to commit.
    session.execute(select(StampCardTemplate.id).where(StampCardTemplate.id == template.id).with_for_update())
    session.refresh(template)
    before = settings_of(template)
    _apply(template, new)
    after = settings_of(template)
    if after == before:
        return False
    if not versions_of(session, template):
        first = StampCardTemplateVersion(
            template_id=template.id, version=1, settings=before, staff_id=None, at=template.created_at
        )
        session.add(first)
        session.flush()
    _add_version(session, template, staff, at)
    changes = {key: after[key] for key in changed_fields(before, after, SETTINGS_FIELDS)}
    record_change(session, staff, "stamp_card_template.update", template, at, **changes)
    return True


def versions_of(session: Session, template: StampCardTemplate) -> list[StampCardTemplateVersion]:
    """A template's saved versions, newest first."""
    query = select(StampCardTemplateVersion).where(StampCardTemplateVersion.template_id == template.id)
    return list(session.scalars(query.order_by(StampCardTemplateVersion.version.desc())))
