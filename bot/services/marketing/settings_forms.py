"""What every programme-settings form shares (coupon templates, stamp cards, tiers, daily tasks): the error that
names a field, reading posted values, numbering versions and telling which settings changed between two."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

BAD_DATES = "請填正確的日期（例如 2026-01-31），開始日期要早於結束日期"


class SettingsError(ValueError):
    """A setting that cannot be saved or a hand issue that cannot be done: `message` is a zh-TW msgid, `field`
    the form field it is about (if any), `params` fill the message."""

    def __init__(self, message: str, field: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message, self.field, self.params = message, field, params


def text(form: dict[str, str], key: str) -> str:
    """A posted text with its whitespace collapsed."""
    return " ".join(str(form.get(key, "")).split())


def whole(form: dict[str, str], key: str, low: int, high: int, problem: str, *, optional: bool) -> int | None:
    """A posted whole number within [low, high] (thousands commas allowed); None when empty and `optional`."""
    raw = text(form, key).replace(",", "")
    if raw == "" and optional:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12 or not low <= int(raw) <= high:
        raise SettingsError(problem, key)
    return int(raw)


def day(form: dict[str, str], key: str, problem: str = BAD_DATES) -> date | None:
    """A posted YYYY-MM-DD day (None when empty)."""
    raw = text(form, key)
    if raw == "":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        raise SettingsError(problem, key)
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        raise SettingsError(problem, key) from None
    if not date(2000, 1, 1) <= found <= date(9998, 12, 31):
        raise SettingsError(problem, key)
    return found


def next_version(session: Session, column: InstrumentedAttribute[int], *where: ColumnElement[bool]) -> int:
    """The number the next version takes: one more than the highest `column` among the rows `where` selects."""
    latest = session.scalar(select(func.max(column)).where(*where))
    return (latest or 0) + 1


def changed_fields(older: dict[str, Any] | None, newer: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    """Which of `fields` differ between two versions' settings (none for the first version)."""
    if older is None:
        return []
    return [key for key in fields if older.get(key) != newer.get(key)]
