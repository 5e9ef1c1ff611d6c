"""Programme settings edited on the marketer's console, each change kept as a version (who, when, what): stamp-card
templates, the tier table (thresholds, earn multipliers, birthday coupons) and the daily-task settings.

Versions are append-only. The tier table lives only in its versions: the newest version is the table in force
(migration 0024 seeds version 1 with the values the programme shipped with).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType

TIER_CODES = ("regular", "silver", "gold")


class StampCardTemplateVersion(Base):
    """One saved state of a stamp-card template (version 1: as it was before its first edit, or as created on the
    console): who changed it, when, and every setting as it then stood."""

    __tablename__ = "stamp_card_template_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("stamp_card_templates.id"), index=True)
    version: Mapped[int]
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_stamp_card_template_versions_template_id_version"),
        CheckConstraint("version > 0", name="version_positive"),
    )


class TierSettingsVersion(Base):
    """One version of the tier table: who saved it and when (None: as the programme shipped). Its rows are
    `TierSetting`s."""

    __tablename__ = "tier_settings_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime]

    __table_args__ = (CheckConstraint("version > 0", name="version_positive"),)


class TierSetting(Base):
    """One tier in one version of the tier table."""

    __tablename__ = "tier_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("tier_settings_versions.id"), index=True)
    # regular | silver | gold (the tiers themselves are fixed: members, segments and imports name them)
    code: Mapped[str] = mapped_column(String(16))
    # Rolling 12-month spend (NT$) needed.
    threshold: Mapped[int]
    # The earn multiplier in hundredths (150 = ×1.5), so it is exact in every database.
    earn_multiplier_pct: Mapped[int]
    # The coupon template code given on the member's birthday (None: none).
    birthday_coupon: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("version_id", "code", name="uq_tier_settings_version_id_code"),
        CheckConstraint("code IN ('regular', 'silver', 'gold')", name="code_known"),
        CheckConstraint("threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("earn_multiplier_pct BETWEEN 100 AND 500", name="multiplier_in_range"),
    )


class TaskSettingsVersion(Base):
    """One saved state of the daily-task settings (check-in reminder and milestones, the games and their prizes),
    after a change on the console or an `omo engagement load`: who (None: the command), when, which part."""

    __tablename__ = "task_settings_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    # checkin | game:<code> | load
    part: Mapped[str] = mapped_column(String(40))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime]

    __table_args__ = (CheckConstraint("version > 0", name="version_positive"),)
