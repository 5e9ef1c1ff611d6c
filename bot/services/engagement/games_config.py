"""The `draws` and `scratch_cards` sections of the engagement YAML: games and their prize tables.

    draws:                          # scratch_cards: the same shape
      - code: DAILY
        name: 每日幸運抽獎
        free_plays_per_day: 1       # optional, default 1
        daily_budget: 50            # optional: most prizes given per local day (none: no budget)
        when_unavailable: nothing   # or next: a prize out of stock or over budget falls to no prize / the next one
        active: true                # optional, default true
        starts_on: 2026-12-01       # optional: the first and last brand-local day it runs (both included)
        ends_on: 2026-12-31
        prizes:                     # "no prize" is whatever the odds leave below 100%
          - code: PTS50
            name: 50 點
            odds: 10%
            stock: 100              # optional: unlimited
            points: 50              # or coupon: <coupon template code>

A game or prize that was loaded before and is not in the file any more is switched off (plays keep naming it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
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
    read_percent,
    read_str,
    sequence,
)
from bot.services.rewards.coupon_rules import template_by_code
from models import Game, GamePrize

GAME_KEYS = (
    "code",
    "name",
    "free_plays_per_day",
    "daily_budget",
    "when_unavailable",
    "active",
    "starts_on",
    "ends_on",
    "prizes",
)
PRIZE_KEYS = ("code", "name", "odds", "stock", "points", "coupon")
MILLION = 1_000_000


def _set(row: Any, values: dict[str, Any]) -> int:
    """Give `row` these values; 1 when anything changed."""
    changed = 0
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = 1
    return changed


def _prize_values(session: Session, node: Node) -> dict[str, Any]:
    values = fields(node, "prizes 的一項", allowed=PRIZE_KEYS, required=("code", "name", "odds"))
    rewards = [key for key in ("points", "coupon") if key in values]
    if len(rewards) != 1:
        raise ConfigError("每個獎項要有一種獎勵：points 或 coupon 其中之一", line_of(node))
    prize: dict[str, Any] = {
        "code": read_str(values["code"], "code", code=True),
        "name": read_str(values["name"], "name"),
        "chance_ppm": read_percent(values["odds"], "odds"),
        "stock": read_int(stock, "stock", maximum=10_000_000) if (stock := optional(values, "stock")) else None,
        "reward_kind": rewards[0],
        "points": 0,
        "coupon_template_id": None,
        "is_active": True,
    }
    if rewards[0] == "points":
        prize["points"] = read_int(values["points"], "points", minimum=1, maximum=100_000)
    else:
        code = read_str(values["coupon"], "coupon", code=True)
        template = template_by_code(session, code)
        if template is None:
            raise ConfigError(f"找不到優惠券範本「{code}」", line_of(values["coupon"]))
        prize["coupon_template_id"] = template.id
    return prize


def _game_values(session: Session, node: Node, what: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    values = fields(node, f"{what} 的一項", allowed=GAME_KEYS, required=("code", "name", "prizes"))
    when = optional(values, "when_unavailable")
    when_unavailable = read_str(when, "when_unavailable") if when is not None else "nothing"
    if when_unavailable not in ("nothing", "next"):
        assert when is not None
        raise ConfigError(f"「when_unavailable」應該是 nothing 或 next：{when_unavailable}", line_of(when))
    free = optional(values, "free_plays_per_day")
    budget = optional(values, "daily_budget")
    active = optional(values, "active")
    starts, ends = optional(values, "starts_on"), optional(values, "ends_on")
    starts_on = read_date(starts, "starts_on") if starts is not None else None
    ends_on = read_date(ends, "ends_on") if ends is not None else None
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        assert ends is not None
        raise ConfigError("「ends_on」不可以早於「starts_on」", line_of(ends))
    game = {
        "code": read_str(values["code"], "code", code=True),
        "name": read_str(values["name"], "name"),
        "free_plays_per_day": read_int(free, "free_plays_per_day", maximum=20) if free is not None else 1,
        "daily_budget": read_int(budget, "daily_budget", maximum=10_000_000) if budget is not None else None,
        "when_unavailable": when_unavailable,
        "is_active": read_bool(active, "active") if active is not None else True,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    prizes: list[dict[str, Any]] = []
    total = 0
    for item in sequence(values["prizes"], "prizes"):
        prize = _prize_values(session, item)
        if any(other["code"] == prize["code"] for other in prizes):
            raise ConfigError(f"獎項代碼「{prize['code']}」重複了", line_of(item))
        total += prize["chance_ppm"]
        if total > MILLION:
            raise ConfigError("獎項的機率加起來超過 100%", line_of(item))
        prize["position"] = len(prizes)
        prize["line"] = line_of(item)
        prizes.append(prize)
    return game, prizes


def _load_games(session: Session, node: Node, kind: str, what: str) -> int:
    wanted: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for position, item in enumerate(sequence(node, what)):
        game, prizes = _game_values(session, item, what)
        if any(other["code"] == game["code"] for other, _ in wanted):
            raise ConfigError(f"遊戲代碼「{game['code']}」重複了", line_of(item))
        taken = session.scalars(select(Game).where(Game.code == game["code"], Game.kind != kind)).one_or_none()
        if taken is not None:
            raise ConfigError(f"代碼「{game['code']}」已經是另一種遊戲在用", line_of(item))
        game["position"] = position
        wanted.append((game, prizes))
    changed = 0
    listed = {game["code"] for game, _ in wanted}
    for existing in session.scalars(select(Game).where(Game.kind == kind)).all():
        if existing.code not in listed:
            changed += _set(existing, {"is_active": False})
    for game_values, prize_values in wanted:
        found = session.scalars(select(Game).where(Game.code == game_values["code"])).one_or_none()
        if found is None:
            found = Game(kind=kind, **game_values)
            session.add(found)
            session.flush()
            changed += 1
        else:
            changed += _set(found, game_values)
        existing_prizes = {
            prize.code: prize for prize in session.scalars(select(GamePrize).where(GamePrize.game_id == found.id))
        }
        for values in prize_values:
            line = values.pop("line")
            prize = existing_prizes.pop(values["code"], None)
            if prize is not None and values["stock"] is not None and values["stock"] < prize.awarded_count:
                raise ConfigError(f"「{values['code']}」已送出 {prize.awarded_count} 份，庫存不可以比這更少", line)
            if prize is None:
                session.add(GamePrize(game_id=found.id, awarded_count=0, **values))
                changed += 1
            else:
                changed += _set(prize, values)
        for gone in existing_prizes.values():
            changed += _set(gone, {"is_active": False})
    session.flush()
    return changed


def load_draws(session: Session, node: Node, now: datetime) -> int:
    """Store the `draws` section (lucky draws, 抽獎 in the chat); the rows changed."""
    return _load_games(session, node, "draw", "draws")


def load_scratch_cards(session: Session, node: Node, now: datetime) -> int:
    """Store the `scratch_cards` section (刮刮樂 in the chat); the rows changed."""
    return _load_games(session, node, "scratch", "scratch_cards")
