"""The `checkin` section of the engagement YAML: the evening reminder and the streak milestones.

checkin:
  enabled: true          # optional: false switches check-ins off (簽到 says no activity is running, no reminders)
  reminder:
    enabled: true
    time: "20:00"        # brand-local; between 09:00 and 21:59
  milestones:            # one reward each: points, coupon (template code), stamp (stamp card code), freeze
    - day: 3
      points: 10
    - day: 7
      coupon: FREEBREAD
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.engagement.yaml_nodes import (
    ConfigError,
    Node,
    fields,
    line_of,
    optional,
    read_bool,
    read_int,
    read_str,
    read_time,
    sequence,
)
from bot.services.rewards.coupon_rules import template_by_code
from models import CheckinMilestone, CheckinSettings, StampCardTemplate

SETTINGS_ID = 1
EARLIEST_REMINDER = time(9, 0)
LATEST_REMINDER = time(21, 59)
REWARD_KEYS = ("points", "coupon", "stamp", "freeze")
MAX_STREAK_DAY = 366


def checkin_settings(session: Session) -> CheckinSettings:
    """The brand's check-in settings (the defaults until a file is loaded)."""
    settings = session.get(CheckinSettings, SETTINGS_ID)
    if settings is None:
        return CheckinSettings(id=SETTINGS_ID, reminder_time="20:00", reminders_enabled=True, checkins_enabled=True)
    return settings


def _milestone(session: Session, node: Node) -> CheckinMilestone:
    values = fields(node, "milestones 的一項", allowed=("day", *REWARD_KEYS), required=("day",))
    day = read_int(values["day"], "day", minimum=1, maximum=MAX_STREAK_DAY)
    rewards = [key for key in REWARD_KEYS if key in values]
    if len(rewards) != 1:
        raise ConfigError("每個里程碑要有一種獎勵：points、coupon、stamp 或 freeze 其中之一", line_of(node))
    kind = rewards[0]
    milestone = CheckinMilestone(day=day, reward_kind=kind, amount=1)
    reward = values[kind]
    if kind == "points":
        milestone.amount = read_int(reward, "points", minimum=1, maximum=100_000)
    elif kind == "freeze":
        milestone.amount = read_int(reward, "freeze", minimum=1, maximum=10)
    elif kind == "coupon":
        code = read_str(reward, "coupon", code=True)
        template = template_by_code(session, code)
        if template is None:
            raise ConfigError(f"找不到優惠券範本「{code}」", line_of(reward))
        milestone.coupon_template_id = template.id
    else:
        code = read_str(reward, "stamp", code=True)
        card = session.scalars(select(StampCardTemplate).where(StampCardTemplate.code == code)).one_or_none()
        if card is None:
            raise ConfigError(f"找不到集點卡「{code}」", line_of(reward))
        milestone.stamp_card_template_id = card.id
    return milestone


def _same(a: CheckinMilestone, b: CheckinMilestone) -> bool:
    keys = ("reward_kind", "amount", "coupon_template_id", "stamp_card_template_id")
    return all(getattr(a, key) == getattr(b, key) for key in keys)


def load_checkin(session: Session, node: Node, now: datetime) -> int:
    """Store the `checkin` section: the reminder settings and exactly the milestones listed; the rows changed."""
    values = fields(node, "checkin", allowed=("enabled", "reminder", "milestones"))
    changed = 0
    reminder = optional(values, "reminder")
    switch = optional(values, "enabled")
    settings = session.get(CheckinSettings, SETTINGS_ID)
    if settings is None and (reminder is not None or switch is not None):
        settings = CheckinSettings(id=SETTINGS_ID, reminder_time="20:00", reminders_enabled=True, checkins_enabled=True)
        session.add(settings)
        changed += 1
    if switch is not None and settings is not None:
        wanted_on = read_bool(switch, "enabled")
        changed += wanted_on != settings.checkins_enabled
        settings.checkins_enabled = wanted_on
    if reminder is not None and settings is not None:
        parts = fields(reminder, "reminder", allowed=("enabled", "time"))
        if (enabled := optional(parts, "enabled")) is not None:
            wanted = read_bool(enabled, "enabled")
            changed += wanted != settings.reminders_enabled
            settings.reminders_enabled = wanted
        if (at := optional(parts, "time")) is not None:
            when = read_time(at, "time")
            if not EARLIEST_REMINDER <= when <= LATEST_REMINDER:
                raise ConfigError("提醒時間要在 09:00 到 21:59 之間（晚上 10 點到早上 9 點不打擾）", line_of(at))
            text = when.strftime("%H:%M")
            changed += text != settings.reminder_time
            settings.reminder_time = text
    milestones_node = optional(values, "milestones")
    if milestones_node is not None:
        wanted_by_day: dict[int, CheckinMilestone] = {}
        for item in sequence(milestones_node, "milestones"):
            milestone = _milestone(session, item)
            if milestone.day in wanted_by_day:
                raise ConfigError(f"第 {milestone.day} 天的里程碑重複了", line_of(item))
            wanted_by_day[milestone.day] = milestone
        for existing in session.scalars(select(CheckinMilestone)).all():
            listed = wanted_by_day.pop(existing.day, None)
            if listed is None:
                session.delete(existing)
                changed += 1
            elif not _same(existing, listed):
                for key in ("reward_kind", "amount", "coupon_template_id", "stamp_card_template_id"):
                    setattr(existing, key, getattr(listed, key))
                changed += 1
        for milestone in wanted_by_day.values():
            session.add(milestone)
            changed += 1
    session.flush()
    return changed
