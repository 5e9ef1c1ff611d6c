"""A segment's definition: a tree of AND / OR / NOT over conditions, as JSON, and its validation.

The schema (docs/console.md has the full list):

    node      := {"all": [node, ...]} | {"any": [node, ...]} | {"not": node} | condition
    condition := {"type": "<kind>", ...the kind's fields}

`parse_definition` checks a raw value (as posted by the builder or stored) and returns the normalised tree, or
raises `DefinitionError` with a zh-TW message (a catalogue msgid and its parameters) naming the first problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.services.marketing.rfm import RFM_GROUPS
from bot.services.rewards.tiers import TIERS

MAX_DEPTH = 5
MAX_CONDITIONS = 40
MAX_LIST = 100
MAX_DAYS = 3650
MAX_AMOUNT = 100_000_000
SOURCES = ("line", "counter", "api", "pos_import")
COUPON_STATES = ("held", "redeemed", "expiring")
# Lone surrogates (a JSON \ud800 escape) are no text a database can store or compare.
SKU_PATTERN = re.compile(r"^[^\x00-\x1f\ud800-\udfff]{1,64}$")
CATEGORY_PATTERN = re.compile(r"^[^\x00-\x1f\x7f\ud800-\udfff]{1,64}$")

# The kinds of condition, with the name the builder shows.
CONDITION_KINDS: dict[str, str] = {
    "tier": "會員等級",
    "line_bound": "已綁定 LINE",
    "marketing_consent": "同意接收行銷訊息",
    "home_store": "所屬門市",
    "visited_store": "期間內到過的門市",
    "spend": "期間內消費金額",
    "visits": "期間內消費次數",
    "avg_basket": "期間內平均客單價",
    "last_visit": "最近一次消費",
    "bought_sku": "期間內買過的商品（SKU）",
    "stamps": "集點卡目前章數",
    "coupons": "優惠券",
    "points": "點數餘額",
    "birthday_month": "生日月份",
    "joined": "入會日期",
    "source": "入會管道",
    "referred_by": "推薦店員",
    "checkin_streak": "目前連續簽到天數",
    "bought_category": "期間內買過的商品類別",
    "tags": "會員標籤",
    "rfm_group": "RFM 顧客分群",
}

BAD_ROOT = "分群條件格式不正確"
BAD_NODE = "條件 {path} 格式不正確"
EMPTY_GROUP = "條件 {path} 的群組至少要有一個條件"
TOO_DEEP = "群組最多只能有 {n} 層"
TOO_MANY = "條件最多 {n} 個"
UNKNOWN_KIND = "條件 {path}：不認得的條件種類"
BAD_FIELD = "條件 {path}（{kind}）：{problem}"

P_LIST = "請至少選一個項目（最多 100 個）"
P_BOOL = "請選擇「是」或「否」"
P_DAYS = "期間請填 1 到 3650 天"
P_RANGE = "請填最小值或最大值（0 以上的整數），最小值不能大於最大值"
P_DATES = "請填日期（例如 2026-01-31），開始日期要早於結束日期"
P_TIER = "不認得的會員等級"
P_SOURCE = "不認得的入會管道"
P_MONTH = "月份請選 1 到 12"
P_SKU = "SKU 請填 1 到 64 個字"
P_STATE = "請選擇優惠券狀態"
P_ID = "請選擇一個項目"
P_CATEGORY = "商品類別請填 1 到 64 個字"
P_RFM = "不認得的 RFM 分群"


class DefinitionError(ValueError):
    """A definition that cannot be used: `message` is a zh-TW catalogue msgid, `params` fill its placeholders."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass
class _Walk:
    conditions: int = 0
    kinds: list[str] = field(default_factory=list)


def parse_definition(raw: Any) -> dict[str, Any]:
    """The normalised definition tree of `raw` (fields in a fixed form, unknown keys dropped), or DefinitionError."""
    if not isinstance(raw, dict):
        raise DefinitionError(BAD_ROOT)
    return _node(raw, "1", 1, _Walk())


def condition_kinds(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """Every condition in a (normalised) tree, in order."""
    if "all" in tree or "any" in tree:
        return [c for child in tree.get("all", tree.get("any", [])) for c in condition_kinds(child)]
    if "not" in tree:
        return condition_kinds(tree["not"])
    return [tree]


def _node(raw: Any, path: str, depth: int, walk: _Walk) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise DefinitionError(BAD_NODE, path=path)
    if depth > MAX_DEPTH:
        raise DefinitionError(TOO_DEEP, n=MAX_DEPTH)
    for group in ("all", "any"):
        if group in raw:
            children = raw[group]
            if len(raw) != 1 or not isinstance(children, list):
                raise DefinitionError(BAD_NODE, path=path)
            if not children:
                raise DefinitionError(EMPTY_GROUP, path=path)
            return {group: [_node(c, f"{path}.{i}", depth + 1, walk) for i, c in enumerate(children, 1)]}
    if "not" in raw:
        if len(raw) != 1:
            raise DefinitionError(BAD_NODE, path=path)
        return {"not": _node(raw["not"], path, depth + 1, walk)}
    walk.conditions += 1
    if walk.conditions > MAX_CONDITIONS:
        raise DefinitionError(TOO_MANY, n=MAX_CONDITIONS)
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in CONDITION_KINDS:
        raise DefinitionError(UNKNOWN_KIND, path=path)
    try:
        return {"type": kind, **_FIELDS[kind](raw)}
    except _Problem as problem:
        raise DefinitionError(BAD_FIELD, path=path, kind=CONDITION_KINDS[kind], problem=problem.message) from None


class _Problem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _int(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) < 12:
        value = int(value.strip())
    if isinstance(value, int) and low <= value <= high:
        return value
    return None


def _days(raw: dict[str, Any]) -> int:
    days = _int(raw.get("days"), 1, MAX_DAYS)
    if days is None:
        raise _Problem(P_DAYS)
    return days


def _range(raw: dict[str, Any]) -> dict[str, int | None]:
    low, high = raw.get("min"), raw.get("max")
    low = None if low in (None, "") else _int(low, 0, MAX_AMOUNT)
    high = None if high in (None, "") else _int(high, 0, MAX_AMOUNT)
    given_low, given_high = raw.get("min") not in (None, ""), raw.get("max") not in (None, "")
    if (given_low and low is None) or (given_high and high is None) or (low is None and high is None):
        raise _Problem(P_RANGE)
    if low is not None and high is not None and low > high:
        raise _Problem(P_RANGE)
    return {"min": low, "max": high}


def _id_list(raw: dict[str, Any], key: str) -> list[int]:
    values = raw.get(key)
    if not isinstance(values, list) or not 0 < len(values) <= MAX_LIST:
        raise _Problem(P_LIST)
    ids = [_int(v, 1, 2**31 - 1) for v in values]
    if any(i is None for i in ids):
        raise _Problem(P_LIST)
    return sorted({i for i in ids if i is not None})


def _choices(raw: dict[str, Any], key: str, allowed: tuple[str, ...], problem: str) -> list[str]:
    values = raw.get(key)
    if not isinstance(values, list) or not 0 < len(values) <= MAX_LIST:
        raise _Problem(P_LIST)
    if any(v not in allowed for v in values):
        raise _Problem(problem)
    return sorted(set(values))


def _bool(raw: dict[str, Any]) -> dict[str, Any]:
    value = raw.get("value")
    if value in ("true", "false"):
        value = value == "true"
    if not isinstance(value, bool):
        raise _Problem(P_BOOL)
    return {"value": value}


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise _Problem(P_DATES)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _Problem(P_DATES) from None
    if not date(2000, 1, 1) <= day <= date(9998, 12, 31):
        raise _Problem(P_DATES)
    return day


def _dates(raw: dict[str, Any]) -> dict[str, Any]:
    since, before = _date(raw.get("since")), _date(raw.get("before"))
    if since is None and before is None:
        raise _Problem(P_DATES)
    if since is not None and before is not None and since >= before:
        raise _Problem(P_DATES)
    return {"since": since.isoformat() if since else None, "before": before.isoformat() if before else None}


def _one_id(raw: dict[str, Any], key: str) -> int:
    value = _int(raw.get(key), 1, 2**31 - 1)
    if value is None:
        raise _Problem(P_ID)
    return value


def _skus(raw: dict[str, Any]) -> dict[str, Any]:
    values = raw.get("skus")
    if not isinstance(values, list) or not 0 < len(values) <= MAX_LIST:
        raise _Problem(P_LIST)
    skus = [v.strip() if isinstance(v, str) else None for v in values]
    if any(s is None or not SKU_PATTERN.match(s) for s in skus):
        raise _Problem(P_SKU)
    return {"skus": sorted({s for s in skus if s}), "days": _days(raw)}


def _categories(raw: dict[str, Any]) -> dict[str, Any]:
    values = raw.get("categories")
    if not isinstance(values, list) or not 0 < len(values) <= MAX_LIST:
        raise _Problem(P_LIST)
    categories = [v.strip() if isinstance(v, str) else None for v in values]
    if any(c is None or not CATEGORY_PATTERN.match(c) for c in categories):
        raise _Problem(P_CATEGORY)
    return {"categories": sorted({c for c in categories if c}), "days": _days(raw)}


def _coupons(raw: dict[str, Any]) -> dict[str, Any]:
    state = raw.get("state")
    if state not in COUPON_STATES:
        raise _Problem(P_STATE)
    template = raw.get("template_id")
    template_id = None if template in (None, "") else _one_id(raw, "template_id")
    days = _days(raw) if state != "held" else None
    return {"state": state, "template_id": template_id, "days": days}


def _months(raw: dict[str, Any]) -> dict[str, Any]:
    values = raw.get("months")
    if not isinstance(values, list) or not 0 < len(values) <= 12:
        raise _Problem(P_LIST)
    months = [_int(v, 1, 12) for v in values]
    if any(m is None for m in months):
        raise _Problem(P_MONTH)
    return {"months": sorted({m for m in months if m is not None})}


def _streak(raw: dict[str, Any]) -> dict[str, Any]:
    value = _int(raw.get("min"), 1, MAX_DAYS)
    if value is None:
        raise _Problem(P_RANGE)
    return {"min": value}


_FIELDS: dict[str, Any] = {
    "tier": lambda r: {"tiers": _choices(r, "tiers", tuple(t.code for t in TIERS), P_TIER)},
    "line_bound": _bool,
    "marketing_consent": _bool,
    "home_store": lambda r: {"store_ids": _id_list(r, "store_ids")},
    "visited_store": lambda r: {"store_ids": _id_list(r, "store_ids"), "days": _days(r)},
    "spend": lambda r: {"days": _days(r), **_range(r)},
    "visits": lambda r: {"days": _days(r), **_range(r)},
    "avg_basket": lambda r: {"days": _days(r), **_range(r)},
    "last_visit": _dates,
    "bought_sku": _skus,
    "stamps": lambda r: {"template_id": _one_id(r, "template_id"), **_range(r)},
    "coupons": _coupons,
    "points": _range,
    "birthday_month": _months,
    "joined": _dates,
    "source": lambda r: {"sources": _choices(r, "sources", SOURCES, P_SOURCE)},
    "referred_by": lambda r: {"staff_ids": _id_list(r, "staff_ids")},
    "checkin_streak": _streak,
    "bought_category": _categories,
    "tags": lambda r: {"tag_ids": _id_list(r, "tag_ids")},
    "rfm_group": lambda r: {"groups": _choices(r, "groups", tuple(RFM_GROUPS), P_RFM)},
}
