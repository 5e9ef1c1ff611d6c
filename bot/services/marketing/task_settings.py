"""The daily-task settings on the marketer's console: the check-in reminder and streak milestones, and each lucky
draw's and scratch card's daily plays, prize budget and prize table (odds, stock, reward).

There is one validator: a page's form is written out as the section of the engagement YAML it edits and stored by
the loader `omo engagement load` uses (bot/services/engagement/config.py), so a form is checked exactly as a file
is. Each change is kept as a version holding all the settings in that YAML shape (who, when, which part), and
written to the audit log; the first change also keeps how things stood before as version 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.engagement.checkin_config import checkin_settings
from bot.services.engagement.config import load_config
from bot.services.engagement.yaml_nodes import ConfigError
from bot.services.marketing.settings_forms import SettingsError, next_version, text
from bot.services.staff.audit import record_change
from models import CheckinMilestone, CouponTemplate, Game, GamePrize, Staff, StampCardTemplate, TaskSettingsVersion

SECTION_OF_KIND = {"draw": "draws", "scratch": "scratch_cards"}
MILESTONE_KINDS = ("points", "coupon", "stamp", "freeze")
# The YAML keys a loader's message may name (「key」), as the page labels them.
LABELS = {
    "time": "提醒時間",
    "enabled": "啟用",
    "day": "連續天數",
    "points": "點數",
    "coupon": "優惠券",
    "stamp": "集點卡",
    "freeze": "補簽卡張數",
    "name": "名稱",
    "code": "代碼",
    "free_plays_per_day": "每日免費次數",
    "daily_budget": "每日獎項上限",
    "when_unavailable": "沒有庫存時",
    "active": "啟用",
    "starts_on": "開始日期",
    "ends_on": "結束日期",
    "odds": "機率",
    "stock": "庫存",
    "prizes": "獎項",
}
NOTHING_CHANGED = "沒有變更"
BAD_KIND = "第 {row} 列里程碑請選擇獎勵種類"
BAD_PRIZE_KIND = "第 {row} 列獎項請選擇點數或優惠券"
MAX_ROWS = 50


def _percent(ppm: int) -> str:
    whole, fraction = divmod(ppm, 10_000)
    return f"{whole}.{fraction:04d}".rstrip("0").rstrip(".") + "%"


def _coupon_codes(session: Session) -> dict[int, str]:
    return {row.id: row.code for row in session.execute(select(CouponTemplate.id, CouponTemplate.code))}


def _milestones(session: Session) -> list[dict[str, Any]]:
    coupons = _coupon_codes(session)
    cards = {row.id: row.code for row in session.execute(select(StampCardTemplate.id, StampCardTemplate.code))}
    rows = []
    for milestone in session.scalars(select(CheckinMilestone).order_by(CheckinMilestone.day)):
        value: Any = milestone.amount
        if milestone.reward_kind == "coupon":
            value = coupons.get(milestone.coupon_template_id or 0)
        elif milestone.reward_kind == "stamp":
            value = cards.get(milestone.stamp_card_template_id or 0)
        rows.append({"day": milestone.day, milestone.reward_kind: value})
    return rows


def _game(game: Game, prizes: list[GamePrize], coupons: dict[int, str]) -> dict[str, Any]:
    return {
        "code": game.code,
        "name": game.name,
        "free_plays_per_day": game.free_plays_per_day,
        "daily_budget": game.daily_budget,
        "when_unavailable": game.when_unavailable,
        "active": game.is_active,
        "starts_on": game.starts_on.isoformat() if game.starts_on else None,
        "ends_on": game.ends_on.isoformat() if game.ends_on else None,
        "prizes": [
            {
                "code": prize.code,
                "name": prize.name,
                "odds": _percent(prize.chance_ppm),
                "stock": prize.stock,
                **(
                    {"points": prize.points}
                    if prize.reward_kind == "points"
                    else {"coupon": coupons.get(prize.coupon_template_id or 0)}
                ),
            }
            for prize in prizes
            if prize.is_active
        ],
    }


def games_of(session: Session, kind: str) -> list[Game]:
    """The games of one kind (draw, scratch) in the order the chat offers them."""
    return list(session.scalars(select(Game).where(Game.kind == kind).order_by(Game.position, Game.id)))


def prizes_of(session: Session, game: Game) -> list[GamePrize]:
    """A game's prize table in order (switched-off prizes included)."""
    query = select(GamePrize).where(GamePrize.game_id == game.id).order_by(GamePrize.position, GamePrize.id)
    return list(session.scalars(query))


def snapshot(session: Session) -> dict[str, Any]:
    """Every daily-task setting, in the shape of the engagement YAML (what `omo engagement load` would read)."""
    settings = checkin_settings(session)
    coupons = _coupon_codes(session)
    result: dict[str, Any] = {
        "checkin": {
            "enabled": bool(settings.checkins_enabled),
            "reminder": {"enabled": bool(settings.reminders_enabled), "time": settings.reminder_time},
            "milestones": _milestones(session),
        }
    }
    for kind, section in SECTION_OF_KIND.items():
        result[section] = [_game(game, prizes_of(session, game), coupons) for game in games_of(session, kind)]
    return result


def _load(session: Session, document: dict[str, Any], at: datetime) -> int:
    """Store one section through the YAML loader; its error becomes a SettingsError naming the field."""
    try:
        with session.begin_nested():
            report = load_config(session, yaml.safe_dump(document, allow_unicode=True, sort_keys=False), at)
    except ConfigError as error:
        message = error.message
        for key, label in LABELS.items():
            message = message.replace(f"「{key}」", f"「{label}」")
        raise SettingsError(message) from None
    return report.total


def _record(session: Session, staff: Staff | None, part: str, before: dict[str, Any], at: datetime) -> None:
    if session.scalars(select(TaskSettingsVersion.id).limit(1)).first() is None:
        session.add(TaskSettingsVersion(version=1, part="before", settings=before, staff_id=None, at=at))
        session.flush()
    version = TaskSettingsVersion(
        version=next_version(session, TaskSettingsVersion.version),
        part=part,
        settings=snapshot(session),
        staff_id=staff.id if staff else None,
        at=at,
    )
    session.add(version)
    session.flush()
    record_change(session, staff, "task_settings.update", version, at, part=part, version=version.version)


def record_load(session: Session, before: dict[str, Any], at: datetime) -> None:
    """Keep what an `omo engagement load` that changed something left, as a version by the command line."""
    _record(session, None, "load", before, at)


def _lock(session: Session) -> None:
    # Versions are numbered one at a time: a second save waits here for the first to commit.
    session.execute(
        select(TaskSettingsVersion.id).order_by(TaskSettingsVersion.version.desc()).limit(1).with_for_update()
    )


def _rows(form: dict[str, str], prefix: str) -> list[tuple[int, dict[str, str]]]:
    """The numbered rows of a form (`{prefix}{field}_{n}`) that have anything filled in, by row number."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if not key.startswith(prefix):
            continue
        field, _, number = key[len(prefix) :].rpartition("_")
        if number.isascii() and number.isdigit() and int(number) < MAX_ROWS and field:
            rows.setdefault(int(number), {})[field] = value
    return [(n, row) for n, row in sorted(rows.items()) if any(text(row, k) for k in row if k not in ("kind",))]


def save_checkin(session: Session, staff: Staff, form: dict[str, str], at: datetime) -> bool:
    """Store the check-in settings posted from the page: `checkins_enabled` and `reminders_enabled` ("yes"),
    `reminder_time` ("HH:MM"), and milestone rows `m_day_<n>`, `m_kind_<n>`, `m_value_<n>` (exactly the rows
    given; a row left empty is removed). Validated by the YAML loader; False when nothing changed."""
    _lock(session)
    before = snapshot(session)
    milestones = []
    for number, row in _rows(form, "m_"):
        kind = text(row, "kind")
        if kind not in MILESTONE_KINDS:
            raise SettingsError(BAD_KIND, f"m_kind_{number}", row=number + 1)
        milestones.append({"day": text(row, "day"), kind: text(row, "value")})
    section = {
        "enabled": "true" if form.get("checkins_enabled") == "yes" else "false",
        "reminder": {
            "enabled": "true" if form.get("reminders_enabled") == "yes" else "false",
            "time": text(form, "reminder_time"),
        },
        "milestones": milestones,
    }
    if not _load(session, {"checkin": section}, at):
        return False
    _record(session, staff, "checkin", before, at)
    return True


def save_game(session: Session, staff: Staff, game: Game, form: dict[str, str], at: datetime) -> bool:
    """Store one game's settings posted from the page: `name`, `free_plays_per_day`, `daily_budget` (empty: no
    budget), `when_unavailable`, `active` ("yes"), `starts_on` and `ends_on` (YYYY-MM-DD or empty), and prize
    rows `p_code_<n>`, `p_name_<n>`, `p_odds_<n>` (a percentage), `p_stock_<n>` (empty: unlimited), `p_kind_<n>`
    (points | coupon), `p_value_<n>`; a prize left out is switched off. The game's whole section goes through the
    YAML loader; False when nothing changed."""
    _lock(session)
    before = snapshot(session)
    section = SECTION_OF_KIND[game.kind]
    prizes = []
    for number, row in _rows(form, "p_"):
        kind = text(row, "kind")
        if kind not in ("points", "coupon"):
            raise SettingsError(BAD_PRIZE_KIND, f"p_kind_{number}", row=number + 1)
        odds = text(row, "odds")
        prizes.append(
            {
                "code": text(row, "code"),
                "name": text(row, "name"),
                "odds": odds if odds.endswith("%") or not odds else f"{odds}%",
                "stock": text(row, "stock") or None,
                kind: text(row, "value"),
            }
        )
    edited = {
        "code": game.code,
        "name": text(form, "name"),
        "free_plays_per_day": text(form, "free_plays_per_day"),
        "daily_budget": text(form, "daily_budget") or None,
        "when_unavailable": text(form, "when_unavailable"),
        "active": "true" if form.get("active") == "yes" else "false",
        "starts_on": text(form, "starts_on") or None,
        "ends_on": text(form, "ends_on") or None,
        "prizes": prizes,
    }
    games = [edited if entry["code"] == game.code else entry for entry in before[section]]
    if not _load(session, {section: games}, at):
        return False
    _record(session, staff, f"game:{game.code}", before, at)
    return True


def task_history(session: Session, limit: int = 50) -> list[TaskSettingsVersion]:
    """The newest versions of the daily-task settings first."""
    query = select(TaskSettingsVersion).order_by(TaskSettingsVersion.version.desc()).limit(limit)
    return list(session.scalars(query))
