"""The `missions` section of the engagement YAML (see docs/engagement.md):

    missions:
      - code: WEEKLY-VISIT
        title: 本週到門市逛逛
        title_en: Visit a store this week   # optional: the name English speakers see
        description: 在任一門市結帳時出示會員條碼   # optional
        kind: visit_store          # visit_store | spend | redeem_coupon | checkin | invite | poll
        target: 1                  # visits | NT$ | coupons | check-in days | friends who join (a poll: 1)
        starts_on: 2026-12-01      # brand-local days, both included
        ends_on: 2027-03-31
        repeat: weekly             # optional: none (default) or weekly (Monday to Sunday)
        reward:
          points: 20               # or coupon: <coupon template code>, or draw_plays: <n>
        coupon: FREEBREAD          # redeem_coupon only, optional: only this template's coupons count
        question: 您最喜歡哪種麵包？  # poll only, with 2 to 4 options
        options: [可頌, 菠蘿, 吐司]
        active: true               # optional, default true

A mission that was loaded before and is not in the file any more is switched off (its progress and rewards stay).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.engagement.yaml_nodes import (
    ConfigError,
    Node,
    fields,
    line_of,
    optional,
    read_bool,
    read_date,
    read_int,
    read_str,
    sequence,
)
from bot.services.rewards.coupon_rules import template_by_code
from models import Mission, MissionProgress
from models.missions import MISSION_KINDS, REPEATS

KEYS = (
    "code",
    "title",
    "title_en",
    "description",
    "kind",
    "target",
    "starts_on",
    "ends_on",
    "repeat",
    "reward",
    "coupon",
    "question",
    "options",
    "active",
)
REWARD_KEYS = ("points", "coupon", "draw_plays")
MAX_OPTIONS = 4  # a bubble's footer holds four buttons comfortably
OPTION_LENGTH = 20  # LINE cuts a button label at 20 characters
TITLE_LENGTH = 100  # missions.title and missions.title_en


def _coupon_template_id(session: Session, node: Node, what: str) -> int:
    code = read_str(node, what, code=True)
    template = template_by_code(session, code)
    if template is None:
        raise ConfigError(f"找不到優惠券範本「{code}」", line_of(node))
    return template.id


def _reward(session: Session, node: Node) -> dict[str, Any]:
    values = fields(node, "reward", allowed=REWARD_KEYS)
    if len(values) != 1:
        raise ConfigError("reward 要有一種獎勵：points、coupon 或 draw_plays 其中之一", line_of(node))
    reward: dict[str, Any] = {"reward_points": None, "reward_coupon_template_id": None, "reward_plays": None}
    if "points" in values:
        reward["reward_points"] = read_int(values["points"], "points", minimum=1, maximum=100_000)
    elif "coupon" in values:
        reward["reward_coupon_template_id"] = _coupon_template_id(session, values["coupon"], "coupon")
    else:
        reward["reward_plays"] = read_int(values["draw_plays"], "draw_plays", minimum=1, maximum=10)
    return reward


def _choice(node: Node, what: str, allowed: tuple[str, ...]) -> str:
    value = read_str(node, what)
    if value not in allowed:
        raise ConfigError(f"「{what}」應該是 {'、'.join(allowed)} 其中之一：{value}", line_of(node))
    return value


def _poll(values: dict[str, Node], kind: str, node: Node) -> dict[str, Any]:
    question, options = optional(values, "question"), optional(values, "options")
    if kind != "poll":
        extra = question or options
        if extra is not None:
            raise ConfigError("question 與 options 只用在 kind: poll 的任務", line_of(extra))
        return {"poll_question": None, "poll_options": None}
    if question is None or options is None:
        raise ConfigError("kind: poll 的任務要有 question 與 options", line_of(node))
    items = sequence(options, "options")
    if not 2 <= len(items) <= MAX_OPTIONS:
        raise ConfigError(f"options 要有 2 到 {MAX_OPTIONS} 個選項", line_of(options))
    texts = [read_str(item, "options 的選項", max_length=OPTION_LENGTH) for item in items]
    if len(set(texts)) != len(texts):
        raise ConfigError("options 的選項重複了", line_of(options))
    return {"poll_question": read_str(question, "question", max_length=200), "poll_options": texts}


def _mission_values(session: Session, node: Node) -> dict[str, Any]:
    values = fields(
        node, "missions 的一項", allowed=KEYS, required=("code", "title", "kind", "starts_on", "ends_on", "reward")
    )
    kind = _choice(values["kind"], "kind", MISSION_KINDS)
    target_node = optional(values, "target")
    if kind == "poll":
        target = read_int(target_node, "target", minimum=1, maximum=1) if target_node is not None else 1
    elif target_node is None:
        raise ConfigError("「missions 的一項」缺少「target」", line_of(node))
    else:
        target = read_int(target_node, "target", minimum=1, maximum=10_000_000)
    starts_on, ends_on = read_date(values["starts_on"], "starts_on"), read_date(values["ends_on"], "ends_on")
    if ends_on < starts_on:
        raise ConfigError("ends_on 不可以早於 starts_on", line_of(values["ends_on"]))
    repeat = optional(values, "repeat")
    coupon = optional(values, "coupon")
    if coupon is not None and kind != "redeem_coupon":
        raise ConfigError("coupon 只用在 kind: redeem_coupon 的任務（獎勵請寫在 reward 底下）", line_of(coupon))
    description = optional(values, "description")
    title_en = optional(values, "title_en")
    active = optional(values, "active")
    return {
        "code": read_str(values["code"], "code", code=True),
        "title": read_str(values["title"], "title", max_length=TITLE_LENGTH),
        "title_en": read_str(title_en, "title_en", max_length=TITLE_LENGTH) if title_en is not None else None,
        "description": read_str(description, "description", max_length=300) if description is not None else None,
        "kind": kind,
        "target": target,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "repeat": _choice(repeat, "repeat", REPEATS) if repeat is not None else "none",
        **_reward(session, values["reward"]),
        "coupon_template_id": _coupon_template_id(session, coupon, "coupon") if coupon is not None else None,
        **_poll(values, kind, node),
        "is_active": read_bool(active, "active") if active is not None else True,
    }


def _has_progress(session: Session, mission: Mission) -> bool:
    count = session.scalar(select(func.count(MissionProgress.id)).where(MissionProgress.mission_id == mission.id))
    return bool(count)


def _set(row: Mission, values: dict[str, Any], now: datetime) -> int:
    changed = {key: value for key, value in values.items() if getattr(row, key) != value}
    for key, value in changed.items():
        setattr(row, key, value)
    if changed:
        row.updated_at = now
    return 1 if changed else 0


def load_missions(session: Session, node: Node, now: datetime) -> int:
    """Store the `missions` section: create or update each mission by its code, switch off those no longer listed;
    the rows changed (0 when the file says what the database already holds). Raises ConfigError with the line."""
    wanted: list[tuple[dict[str, Any], Node]] = []
    for position, item in enumerate(sequence(node, "missions")):
        values = _mission_values(session, item)
        if any(other["code"] == values["code"] for other, _item in wanted):
            raise ConfigError(f"任務代碼「{values['code']}」重複了", line_of(item))
        values["sort_order"] = position
        wanted.append((values, item))
    listed = {values["code"] for values, _item in wanted}
    changed = 0
    for existing in session.scalars(select(Mission)).all():
        if existing.code not in listed and existing.is_active:
            changed += _set(existing, {"is_active": False}, now)
    for values, item in wanted:
        found = session.scalars(select(Mission).where(Mission.code == values["code"])).one_or_none()
        if found is None:
            session.add(Mission(created_at=now, updated_at=now, **values))
            changed += 1
            continue
        if found.kind != values["kind"] and _has_progress(session, found):
            raise ConfigError(f"任務「{found.code}」已有會員的進度，不能改成另一種 kind", line_of(item))
        changed += _set(found, values, now)
    session.flush()
    return changed
