"""The daily-task settings on the marketer's console: the check-in reminder and streak milestones, each lucky
draw's and scratch card's daily plays, prize budget and prize table (odds, stock, reward), and the missions (what
counts, target, reward, dates, on or off).

There is one validator: a page's form is written out as the section of the engagement YAML it edits and stored by
the loader `omo engagement load` uses (bot/services/engagement/config.py), so a form is checked exactly as a file
is. Each change is kept as a version holding all the settings in that YAML shape (who, when, which part), and
written to the audit log; the first change also keeps how things stood before as version 1.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.engagement.checkin_config import checkin_settings
from bot.services.engagement.config import load_config
from bot.services.engagement.yaml_nodes import ConfigError
from bot.services.marketing.settings_forms import SettingsError, next_version, text
from bot.services.staff.audit import record_change
from models import (
    CheckinMilestone,
    CouponTemplate,
    Game,
    GamePrize,
    Mission,
    MissionProgress,
    Staff,
    StampCardTemplate,
    TaskSettingsVersion,
)
from models.missions import MISSION_KINDS

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
# The same for a mission's keys (the loader's messages also name some bare: MISSION_WORDS).
MISSION_LABELS = {
    "missions 的一項": "任務",
    "code": "代碼",
    "title": "任務名稱（中文）",
    "title_en": "任務名稱（英文）",
    "description": "說明",
    "kind": "計算方式",
    "target": "目標",
    "repeat": "重複",
    "reward": "獎勵",
    "points": "點數",
    "coupon": "優惠券",
    "draw_plays": "抽獎次數",
    "question": "問卷題目",
    "options": "問卷選項",
    "options 的選項": "問卷選項",
    "starts_on": "開始日期",
    "ends_on": "結束日期",
    "active": "啟用",
}
MISSION_WORDS = (
    ("kind: redeem_coupon", "「使用優惠券」", "kind"),
    ("kind: poll", "「小問卷」", "kind"),
    ("另一種 kind", "另一種計算方式", "kind"),
    ("ends_on", "「結束日期」", "ends_on"),
    ("starts_on", "「開始日期」", "starts_on"),
    ("question", "「問卷題目」", "question"),
    ("options", "「問卷選項」", "options"),
)
# The form field each label is about (the first one a message names is marked on the page).
MISSION_FIELDS = {
    "title": "title",
    "title_en": "title_en",
    "description": "description",
    "code": "code",
    "kind": "kind",
    "target": "target",
    "repeat": "repeat",
    "points": "reward_value",
    "draw_plays": "reward_value",
    "coupon": "coupon",
    "question": "question",
    "options": "option_0",
    "options 的選項": "option_0",
    "starts_on": "starts_on",
    "ends_on": "ends_on",
}
MISSION_REWARDS = ("points", "coupon", "draw_plays")
MAX_OPTIONS = 4
NOTHING_CHANGED = "沒有變更"
BAD_KIND = "第 {row} 列里程碑請選擇獎勵種類"
BAD_PRIZE_KIND = "第 {row} 列獎項請選擇點數或優惠券"
BAD_MISSION_KIND = "請選擇「計算方式」"
BAD_REWARD_KIND = "請選擇「獎勵」：點數、優惠券或抽獎次數"
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


def missions_of(session: Session) -> list[Mission]:
    """Every mission (switched-off ones included) in the order the chat shows them."""
    return list(session.scalars(select(Mission).order_by(Mission.sort_order, Mission.id)))


def mission_progress_counts(session: Session) -> dict[int, int]:
    """How many members have progress on each mission (missions nobody has started are left out)."""
    query = select(MissionProgress.mission_id, func.count(func.distinct(MissionProgress.member_id))).group_by(
        MissionProgress.mission_id
    )
    return {int(mission_id): int(n) for mission_id, n in session.execute(query)}


def _mission(mission: Mission, coupons: dict[int, str]) -> dict[str, Any]:
    """A mission in the shape of the YAML's `missions` section (keys left out where the file would leave them)."""
    if mission.reward_coupon_template_id is not None:
        reward: dict[str, Any] = {"coupon": coupons.get(mission.reward_coupon_template_id)}
    elif mission.reward_plays is not None:
        reward = {"draw_plays": mission.reward_plays}
    else:
        reward = {"points": mission.reward_points}
    entry: dict[str, Any] = {"code": mission.code, "title": mission.title}
    if mission.title_en is not None:
        entry["title_en"] = mission.title_en
    if mission.description is not None:
        entry["description"] = mission.description
    entry |= {
        "kind": mission.kind,
        "target": mission.target,
        "starts_on": mission.starts_on.isoformat(),
        "ends_on": mission.ends_on.isoformat(),
        "repeat": mission.repeat,
        "reward": reward,
    }
    if mission.coupon_template_id is not None:
        entry["coupon"] = coupons.get(mission.coupon_template_id)
    if mission.kind == "poll":
        entry["question"] = mission.poll_question
        entry["options"] = list(mission.poll_options or [])
    entry["active"] = mission.is_active
    return entry


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
    result["missions"] = [_mission(mission, coupons) for mission in missions_of(session)]
    return result


def _load(
    session: Session,
    document: dict[str, Any],
    at: datetime,
    labels: dict[str, str] = LABELS,
    words: tuple[tuple[str, str, str], ...] = (),
    fields: dict[str, str] | None = None,
) -> int:
    """Store one section through the YAML loader; its error becomes a SettingsError naming the field (the YAML keys
    the message names replaced by `labels`, bare `words` (word, label, key) too; `fields`: the form field of the
    first key named)."""
    try:
        with session.begin_nested():
            report = load_config(session, yaml.safe_dump(document, allow_unicode=True, sort_keys=False), at)
    except ConfigError as error:
        message, field = error.message, None
        for key, label in labels.items():
            if f"「{key}」" in message and field is None and fields:
                field = fields.get(key)
            message = message.replace(f"「{key}」", f"「{label}」")
        if words:
            # Only outside the 「」 the message quotes (a value typed in the form is left as it is).
            parts = re.split(r"(「[^」]*」)", message)
            for index in range(0, len(parts), 2):
                for word, label, key in words:
                    if word in parts[index] and field is None and fields:
                        field = fields.get(key)
                    parts[index] = re.sub(rf"\s*{re.escape(word)}\s*", label, parts[index])
            message = "".join(parts)
        raise SettingsError(message, field) from None
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


def _number(value: str) -> str:
    """A number as typed, thousands commas left out (2,000 is 2000); anything else is the loader's to refuse."""
    return value.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", value) else value


def _mission_entry(form: dict[str, str], code: str) -> dict[str, Any]:
    """The YAML entry a mission's form says (empty optional fields left out, so the loader sees what a file
    without them says)."""
    kind = text(form, "kind")
    if kind not in MISSION_KINDS:
        raise SettingsError(BAD_MISSION_KIND, "kind")
    reward_kind = text(form, "reward_kind")
    if reward_kind not in MISSION_REWARDS:
        raise SettingsError(BAD_REWARD_KIND, "reward_kind")
    entry: dict[str, Any] = {"code": code, "title": text(form, "title")}
    for key in ("title_en", "description"):
        if text(form, key):
            entry[key] = text(form, key)
    entry["kind"] = kind
    if text(form, "target") or kind != "poll":
        entry["target"] = _number(text(form, "target"))
    entry |= {
        "starts_on": text(form, "starts_on"),
        "ends_on": text(form, "ends_on"),
        "repeat": text(form, "repeat") or "none",
        "reward": {
            reward_kind: text(form, "reward_value") if reward_kind == "coupon" else _number(text(form, "reward_value"))
        },
    }
    if kind == "redeem_coupon" and text(form, "coupon"):
        entry["coupon"] = text(form, "coupon")
    if kind == "poll":
        entry["question"] = text(form, "question")
        entry["options"] = [text(form, f"option_{n}") for n in range(MAX_OPTIONS) if text(form, f"option_{n}")]
    entry["active"] = "true" if form.get("active") == "yes" else "false"
    return entry


def save_mission(session: Session, staff: Staff, mission: Mission | None, form: dict[str, str], at: datetime) -> bool:
    """Store one mission posted from the page (a new one when `mission` is None): `code` (new missions only; a
    mission keeps its code), `title`, `title_en` and `description` (optional), `kind` (what counts), `target`,
    `coupon` (redeem_coupon: only this template's coupons count, optional), `question` and `option_0..3` (poll),
    `repeat` (none | weekly), `reward_kind` (points | coupon | draw_plays) and `reward_value`, `starts_on`, `ends_on`,
    `active` ("yes"). The whole `missions` section goes through the YAML loader, so a form is refused exactly as a
    file is (and a mission members have progress on keeps its kind); nothing is ever deleted: switching a mission
    off is how it ends. False when nothing changed."""
    _lock(session)
    before = snapshot(session)
    code = mission.code if mission is not None else text(form, "code")
    entry = _mission_entry(form, code)
    if mission is None:
        entries = [*before["missions"], entry]
    else:
        entries = [entry if existing["code"] == mission.code else existing for existing in before["missions"]]
    try:
        changed = _load(session, {"missions": entries}, at, MISSION_LABELS, MISSION_WORDS, MISSION_FIELDS)
    except SettingsError as error:
        if error.message.startswith("找不到優惠券範本"):
            # The loader names the code only: say which of the two coupon fields it is.
            rewarded = entry["reward"].get("coupon")
            where = "reward_value" if rewarded and f"「{rewarded}」" in error.message else "coupon"
            label = "獎勵" if where == "reward_value" else "只算這種優惠券"
            raise SettingsError(f"「{label}」{error.message}", where) from None
        raise
    if not changed:
        return False
    _record(session, staff, f"mission:{code}", before, at)
    return True


def task_history(session: Session, limit: int = 50) -> list[TaskSettingsVersion]:
    """The newest versions of the daily-task settings first."""
    query = select(TaskSettingsVersion).order_by(TaskSettingsVersion.version.desc()).limit(limit)
    return list(session.scalars(query))
