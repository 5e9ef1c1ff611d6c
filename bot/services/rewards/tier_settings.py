"""The tier table as the marketer edits it: each tier's rolling-spend threshold, earn multiplier and birthday
coupon, validated and saved as a new version (who, when; also in the audit log).

A new version applies from the next unit of work on (`tiers.current_tiers`): purchases earn at the new
multipliers and upgrade at the new thresholds at once; a member already above a threshold that was raised keeps
their tier until the monthly review, which moves them down one step at a time as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.marketing.settings_forms import SettingsError, next_version, text, whole
from bot.services.rewards.tiers import TIER_CODES, TIER_LABELS, Tier, current_tiers, forget_current_tiers
from bot.services.staff.audit import record_change
from models import CouponTemplate, Staff, TierSetting, TierSettingsVersion

MAX_THRESHOLD = 100_000_000
BAD_THRESHOLD = "「{tier}」的門檻請填 1 到 100,000,000 元的整數"
REGULAR_AT_ZERO = "「{tier}」的門檻固定是 0 元"
NOT_INCREASING = "「{tier}」的門檻要高於「{lower}」的門檻（{threshold} 元）"
BAD_MULTIPLIER = "「{tier}」的點數倍率請填 1.0 到 5.0（最多兩位小數）"
BAD_BIRTHDAY = "「{tier}」的生日禮請從啟用中的優惠券選擇，或選「不送」"
MULTIPLIER = re.compile(r"^\d(?:\.\d{1,2})?$")
FIELDS = ("threshold", "earn_multiplier", "birthday_coupon")


def _multiplier(form: dict[str, str], key: str, tier: str) -> float:
    raw = text(form, key)
    if not MULTIPLIER.fullmatch(raw) or not Decimal(1) <= Decimal(raw) <= Decimal(5):
        raise SettingsError(BAD_MULTIPLIER, key, tier=tier)
    return int(Decimal(raw) * 100) / 100


def birthday_choices(session: Session) -> list[CouponTemplate]:
    """The coupon templates a birthday benefit may name: the active ones, by code."""
    query = select(CouponTemplate).where(CouponTemplate.is_active.is_(True)).order_by(CouponTemplate.code)
    return list(session.scalars(query))


def tiers_from_form(session: Session, form: dict[str, str]) -> tuple[Tier, ...]:
    """Validate a posted tier table (fields `threshold_<code>`, `multiplier_<code>`, `birthday_<code>`): the lowest
    tier at 0, thresholds strictly increasing, multipliers 1.0–5.0, birthday coupons an active template or none
    (a tier may keep the one it has even if that template was switched off since). SettingsError names the field."""
    current = {tier.code: tier for tier in current_tiers(session)}
    active = {template.code for template in birthday_choices(session)}
    tiers: list[Tier] = []
    for code in TIER_CODES:
        label = TIER_LABELS[code]
        key = f"threshold_{code}"
        if not tiers:
            if text(form, key).replace(",", "") not in ("", "0"):
                raise SettingsError(REGULAR_AT_ZERO, key, tier=label)
            threshold = 0
        else:
            try:
                threshold = whole(form, key, 1, MAX_THRESHOLD, BAD_THRESHOLD, optional=False) or 0
            except SettingsError:
                raise SettingsError(BAD_THRESHOLD, key, tier=label) from None
            lower = tiers[-1]
            if threshold <= lower.threshold:
                raise SettingsError(
                    NOT_INCREASING, key, tier=label, lower=lower.label, threshold=f"{lower.threshold:,}"
                )
        multiplier = _multiplier(form, f"multiplier_{code}", label)
        gift = text(form, f"birthday_{code}") or None
        kept = code in current and gift == current[code].birthday_coupon
        if gift is not None and gift not in active and not kept:
            raise SettingsError(BAD_BIRTHDAY, f"birthday_{code}", tier=label)
        tiers.append(Tier(code, label, threshold, multiplier, gift))
    return tuple(tiers)


def _settings(tier: Tier) -> dict[str, Any]:
    return {
        "threshold": tier.threshold,
        "earn_multiplier": tier.earn_multiplier,
        "birthday_coupon": tier.birthday_coupon,
    }


def _add_version(session: Session, tiers: tuple[Tier, ...], staff: Staff | None, at: datetime) -> TierSettingsVersion:
    version = TierSettingsVersion(
        version=next_version(session, TierSettingsVersion.version), staff_id=staff.id if staff else None, at=at
    )
    session.add(version)
    session.flush()
    session.add_all(
        TierSetting(
            version_id=version.id,
            code=tier.code,
            threshold=tier.threshold,
            earn_multiplier_pct=round(tier.earn_multiplier * 100),
            birthday_coupon=tier.birthday_coupon,
        )
        for tier in tiers
    )
    session.flush()
    return version


def save_tiers(session: Session, staff: Staff, tiers: tuple[Tier, ...], at: datetime) -> TierSettingsVersion | None:
    """Store `tiers` (from `tiers_from_form`) as the newest version of the tier table, with the staff member and
    time, and write the change to the audit log; None when nothing changed."""
    # Versions are numbered one at a time: a second save waits here for the first to commit.
    session.execute(
        select(TierSettingsVersion.id).order_by(TierSettingsVersion.version.desc()).limit(1).with_for_update()
    )
    forget_current_tiers(session)
    before = {tier.code: _settings(tier) for tier in current_tiers(session)}
    after = {tier.code: _settings(tier) for tier in tiers}
    if before == after:
        return None
    if session.scalars(select(TierSettingsVersion.id).limit(1)).first() is None:
        _add_version(session, current_tiers(session), None, at)  # the table as it stood: version 1
    version = _add_version(session, tiers, staff, at)
    forget_current_tiers(session)
    changes = {
        f"{code}.{key}": after[code][key]
        for code in TIER_CODES
        for key in FIELDS
        if before[code][key] != after[code][key]
    }
    record_change(session, staff, "tier_settings.update", version, at, version=version.version, **changes)
    return version


@dataclass(frozen=True)
class TierVersion:
    """One version of the tier table as the history shows it: who (None: as shipped), when, the tiers, and which
    (tier, setting) pairs changed from the version before."""

    version: int
    at: datetime
    staff_id: int | None
    tiers: tuple[Tier, ...]
    changed: list[tuple[str, str]]


def tier_history(session: Session, limit: int = 50) -> list[TierVersion]:
    """The newest versions of the tier table first."""
    versions = list(
        session.scalars(select(TierSettingsVersion).order_by(TierSettingsVersion.version.desc()).limit(limit + 1))
    )
    rows = session.scalars(select(TierSetting).where(TierSetting.version_id.in_([v.id for v in versions]))).all()
    by_version: dict[int, dict[str, Tier]] = {}
    for row in rows:
        by_version.setdefault(row.version_id, {})[row.code] = Tier(
            row.code, TIER_LABELS[row.code], row.threshold, row.earn_multiplier_pct / 100, row.birthday_coupon
        )
    history: list[TierVersion] = []
    for index, version in enumerate(versions[:limit]):
        tiers = by_version.get(version.id, {})
        older = by_version.get(versions[index + 1].id) if index + 1 < len(versions) else None
        changed = [
            (code, key)
            for code in TIER_CODES
            for key in FIELDS
            if older is not None
            and code in tiers
            and code in older
            and _settings(tiers[code])[key] != _settings(older[code])[key]
        ]
        ordered = tuple(tiers[code] for code in TIER_CODES if code in tiers)
        history.append(TierVersion(version.version, version.at, version.staff_id, ordered, changed))
    return history
