"""Reading a POS member export (CSV, UTF-8 with or without BOM, English or zh-TW headers) into checked rows."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from bot.services.membership.phones import InvalidPhoneNumber, normalise_phone

# Header names as the POS writes them -> our field names.
HEADERS = {
    "member_number": "member_number",
    "會員編號": "member_number",
    "name": "name",
    "姓名": "name",
    "phone": "phone",
    "手機": "phone",
    "birthday": "birthday",
    "生日": "birthday",
    "points": "points",
    "點數": "points",
    "tier": "tier",
    "等級": "tier",
}
FIELDS = ("member_number", "name", "phone", "birthday", "points", "tier")
_BIRTHDAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


class ImportFileError(Exception):
    """The file as a whole cannot be read (not UTF-8, no header, a column missing); nothing was imported."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PosRow:
    """One checked row; None means the file left the value empty (keep what we have)."""

    line: int
    member_number: str
    name: str | None
    phone_e164: str | None
    birthday: date | None
    points: int | None
    tier: str | None


@dataclass(frozen=True)
class RowProblem:
    """A row that is not applied: invalid, or in conflict with another member. Never holds a phone number."""

    line: int
    member_number: str | None
    reason: str


class _Invalid(ValueError):
    pass


def read_pos_export(data: bytes) -> tuple[list[PosRow], list[RowProblem]]:
    """Parse and check a POS export: the good rows, and the invalid ones with their line numbers."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError("the file is not UTF-8 text") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise ImportFileError("the file is empty: a header row is needed")
    columns = [HEADERS.get(name.strip().lower()) for name in header]
    missing = [field for field in FIELDS if field not in columns]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)} (expected {', '.join(FIELDS)})")
    if len({c for c in columns if c}) != len([c for c in columns if c]):
        raise ImportFileError("a column appears twice in the header")
    rows: list[PosRow] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        values = {column: record[i].strip() for i, column in enumerate(columns) if column and i < len(record)}
        number = values.get("member_number") or None
        try:
            if len(record) != len(header):
                raise _Invalid(f"欄位數量不符（應有 {len(header)} 欄，實有 {len(record)} 欄）")
            row = _check(line, values)
        except _Invalid as exc:
            problems.append(RowProblem(line, number, str(exc)))
            continue
        if row.member_number in seen:
            problems.append(RowProblem(line, number, f"會員編號與第 {seen[row.member_number]} 行重複"))
            continue
        seen[row.member_number] = line
        rows.append(row)
    return rows, problems


def _check(line: int, values: dict[str, str]) -> PosRow:
    number = values.get("member_number", "")
    if not number:
        raise _Invalid("缺少會員編號")
    if len(number) > 32:
        raise _Invalid("會員編號過長（最多 32 字）")
    name = values.get("name") or None
    if name is not None and len(name) > 100:
        raise _Invalid("姓名過長（最多 100 字）")
    tier = values.get("tier") or None
    if tier is not None and len(tier) > 20:
        raise _Invalid("等級過長（最多 20 字）")
    return PosRow(
        line=line,
        member_number=number,
        name=name,
        phone_e164=_phone(values.get("phone", "")),
        birthday=_birthday(values.get("birthday", "")),
        points=_points(values.get("points", "")),
        tier=tier,
    )


def _phone(raw: str) -> str | None:
    if not raw:
        return None
    try:
        return normalise_phone(raw)
    except InvalidPhoneNumber as exc:
        raise _Invalid(f"手機號碼無效：{exc}") from None


def _birthday(raw: str) -> date | None:
    if not raw:
        return None
    match = _BIRTHDAY.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise _Invalid("生日格式應為 YYYY-MM-DD 或 YYYY/MM/DD") from None


def _points(raw: str) -> int | None:
    if not raw:
        return None
    cleaned = raw.replace(",", "")
    if not cleaned.isascii() or not cleaned.isdigit():
        raise _Invalid("點數必須是 0 以上的整數")
    return int(cleaned)
