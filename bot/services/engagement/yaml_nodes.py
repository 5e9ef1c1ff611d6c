"""Reading the engagement YAML as PyYAML nodes, so that every error names the line it is about.

The file is composed (`yaml.compose` with the safe loader), not loaded: each node keeps its start mark, and a
section loader reads values through these helpers, which raise `ConfigError` with the node's line number.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, time

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "ConfigError",
    "MappingNode",
    "Node",
    "ScalarNode",
    "SequenceNode",
    "compose",
    "fields",
    "line_of",
    "optional",
    "read_bool",
    "read_date",
    "read_int",
    "read_percent",
    "read_str",
    "read_time",
    "sequence",
]

_PERCENT = re.compile(r"^(\d{1,3})(?:\.(\d{1,4}))?%$")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class ConfigError(Exception):
    """The file is not a valid engagement configuration: `line` (1-based, None for the whole file) and zh-TW text."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(f"第 {line} 行：{message}" if line is not None else message)
        self.message = message
        self.line = line


def line_of(node: Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def compose(text: str) -> Node | None:
    """The document's node tree (None for an empty file); a YAML syntax error becomes a ConfigError with its line."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        raise ConfigError(f"YAML 格式錯誤：{exc.problem or exc}", line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"YAML 格式錯誤：{exc}", None) from exc


def fields(node: Node, what: str, *, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Node]:
    """A mapping's values by key; an unknown, repeated or missing key is an error naming its line."""
    if not isinstance(node, MappingNode):
        raise ConfigError(f"「{what}」應該是一組「名稱: 值」", line_of(node))
    values: dict[str, Node] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if not isinstance(key, str) or key not in allowed:
            known = "、".join(allowed)
            raise ConfigError(f"「{what}」裡沒有「{key}」這個設定（可用：{known}）", line_of(key_node))
        if key in values:
            raise ConfigError(f"「{what}」的「{key}」重複了", line_of(key_node))
        values[key] = value_node
    for key in required:
        if key not in values:
            raise ConfigError(f"「{what}」缺少「{key}」", line_of(node))
    return values


def optional(values: dict[str, Node], key: str) -> Node | None:
    """The node of an optional key, or None when it is absent or written as null/empty."""
    node = values.get(key)
    if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
        return None
    return node


def sequence(node: Node, what: str) -> list[Node]:
    """A list's items."""
    if not isinstance(node, SequenceNode):
        raise ConfigError(f"「{what}」應該是清單（每項以「- 」開頭）", line_of(node))
    return list(node.value)


def _scalar(node: Node, what: str) -> str:
    if not isinstance(node, ScalarNode):
        raise ConfigError(f"「{what}」應該是單一的值", line_of(node))
    return str(node.value).strip()


def read_str(node: Node, what: str, *, max_length: int = 100, code: bool = False) -> str:
    """A non-empty text; `code`: letters, digits, - and _ only (at most 32)."""
    value = _scalar(node, what)
    if not value:
        raise ConfigError(f"「{what}」不可以是空的", line_of(node))
    if any(unicodedata.category(char) in ("Cc", "Cs") and char != "\n" for char in value):
        # A NUL cannot be stored in a PostgreSQL text column, nor a lone surrogate in UTF-8.
        raise ConfigError(f"「{what}」有無法儲存的控制字元", line_of(node))
    if code and not _CODE.fullmatch(value):
        raise ConfigError(f"「{what}」只能用英文字母、數字、- 與 _（最多 32 字）：{value}", line_of(node))
    if len(value) > max_length:
        raise ConfigError(f"「{what}」最多 {max_length} 個字", line_of(node))
    return value


def read_int(node: Node, what: str, *, minimum: int = 0, maximum: int = 10_000_000) -> int:
    """A whole number within [minimum, maximum]."""
    value = _scalar(node, what)
    if not re.fullmatch(r"[+-]?\d{1,9}", value):
        raise ConfigError(f"「{what}」應該是整數：{value}", line_of(node))
    number = int(value)
    if not minimum <= number <= maximum:
        raise ConfigError(f"「{what}」應該介於 {minimum} 到 {maximum}：{number}", line_of(node))
    return number


def read_bool(node: Node, what: str) -> bool:
    """true/false (also yes/no, on/off)."""
    value = _scalar(node, what).lower()
    if value in ("true", "yes", "on"):
        return True
    if value in ("false", "no", "off"):
        return False
    raise ConfigError(f"「{what}」應該是 true 或 false：{value}", line_of(node))


def read_percent(node: Node, what: str) -> int:
    """A chance written as a percentage ("5%", "0.25%"), in parts per million (5% → 50000)."""
    value = _scalar(node, what)
    match = _PERCENT.fullmatch(value)
    if match is None:
        raise ConfigError(f"「{what}」應該是百分比，例如 5% 或 0.5%：{value}", line_of(node))
    whole, fraction = match.group(1), (match.group(2) or "").ljust(4, "0")
    ppm = int(whole) * 10_000 + int(fraction)
    if ppm > 1_000_000:
        raise ConfigError(f"「{what}」不可以超過 100%：{value}", line_of(node))
    return ppm


def read_time(node: Node, what: str) -> time:
    """A local wall-clock time written "HH:MM" (quote it in YAML: "20:00")."""
    value = _scalar(node, what)
    match = _TIME.fullmatch(value)
    if match is None:
        raise ConfigError(f'「{what}」應該是 24 小時制的時間，例如 "20:00"：{value}', line_of(node))
    return time(int(match.group(1)), int(match.group(2)))


def read_date(node: Node, what: str) -> date:
    """A calendar date written YYYY-MM-DD."""
    value = _scalar(node, what)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"「{what}」應該是日期，例如 2026-12-01：{value}", line_of(node)) from exc
