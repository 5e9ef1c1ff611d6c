"""The product catalogue: SKU (unique), name and category, kept by marketers one by one or by CSV import, so
segments can select members who bought in a category (purchase lines carry only the SKU). Every change is written to
the audit log: a product added or edited (what changed, with its old SKU when that changed), and an import as one row
(how many products it added and changed, and which SKUs)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.staff.audit import record_change
from models import Product, Staff, StaffAudit

MAX_SKU = 64
MAX_NAME = 200
MAX_CATEGORY = 64
MAX_ROWS = 5000
MAX_CSV_BYTES = 1024 * 1024

SKU_BAD = "SKU 請填 1 到 64 個字（不能有控制字元）"
NAME_BAD = "商品名稱請填 1 到 200 個字（不能有控制字元）"
CATEGORY_BAD = "商品類別請填 1 到 64 個字（不能有控制字元）"
SKU_TAKEN = "SKU「{sku}」已經在商品目錄裡"
ROW_PROBLEM = "第 {row} 列：{problem}"
ROW_COLUMNS = "要有 3 個欄位（sku,name,category）"
ROW_REPEATED = "SKU「{sku}」在檔案裡重複"
CSV_EMPTY = "檔案裡沒有商品"
CSV_TOO_BIG = "檔案太大：最多 5000 列、1 MB"
CSV_UNREADABLE = "無法讀取檔案，請存成 UTF-8 編碼的 CSV"
HEADER = ["sku", "name", "category"]
# An import's audit row names at most this many of the SKUs it added and changed (and how many more there were).
AUDITED_SKUS = 50


class ProductError(ValueError):
    """A product or import refused: `message` is a zh-TW catalogue msgid with `params`; for an import, `rows` lists
    (row number, zh-TW problem) of every bad row (nothing was saved)."""

    def __init__(self, message: str, rows: list[tuple[int, str]] | None = None, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params
        self.rows = rows or []


@dataclass(frozen=True)
class ImportResult:
    """How many products an import added and how many it updated."""

    added: int
    updated: int


def _text(value: str | None, limit: int, problem: str) -> str:
    clean = " ".join((value or "").split())
    if not clean or len(clean) > limit or any(ord(c) < 32 or ord(c) == 127 for c in (value or "") if c not in " \t"):
        raise ProductError(problem)
    return clean


def _sku(value: str | None) -> str:
    clean = (value or "").strip()
    if not clean or len(clean) > MAX_SKU or any(ord(c) < 32 or ord(c) == 127 for c in clean):
        raise ProductError(SKU_BAD)
    return clean


def _fields(sku: str | None, name: str | None, category: str | None) -> tuple[str, str, str]:
    return _sku(sku), _text(name, MAX_NAME, NAME_BAD), _text(category, MAX_CATEGORY, CATEGORY_BAD)


def save_product(
    session: Session, staff: Staff, product: Product | None, sku: str, name: str, category: str, at: datetime
) -> Product:
    """Add a product (product None) or change one, audited with what changed; ProductError (nothing changed) for a
    bad field or a SKU that another product has."""
    clean_sku, clean_name, clean_category = _fields(sku, name, category)
    taken = select(Product.id).where(Product.sku == clean_sku)
    if product is not None:
        taken = taken.where(Product.id != product.id)
    if session.scalar(taken) is not None:
        raise ProductError(SKU_TAKEN, sku=clean_sku)
    if product is None:
        product = Product(sku=clean_sku, name=clean_name, category=clean_category, updated_at=at)
        product.created_at = at
        session.add(product)
        action, changes = "product.create", {"name": clean_name, "category": clean_category}
    else:
        action, changes = "product.update", {}
        if clean_sku != product.sku:
            changes["sku_from"] = product.sku
        changes.update(
            (key, new)
            for key, old, new in (("name", product.name, clean_name), ("category", product.category, clean_category))
            if old != new
        )
        if not changes:
            return product
    product.sku, product.name, product.category = clean_sku, clean_name, clean_category
    product.updated_at, product.updated_by_staff_id = at, staff.id
    session.flush()
    record_change(session, staff, action, product, at, sku=clean_sku, **changes)
    return product


def import_csv(session: Session, staff: Staff, content: str, at: datetime) -> ImportResult:
    """Add or update products from CSV text (sku,name,category; a header row is optional). All rows or none: any bad
    row raises ProductError listing every bad row by its line number."""
    if len(content.encode("utf-8", "replace")) > MAX_CSV_BYTES:
        raise ProductError(CSV_TOO_BIG)
    if "\x00" in content:
        raise ProductError(CSV_UNREADABLE)
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    if len(rows) > MAX_ROWS + 1:
        raise ProductError(CSV_TOO_BIG)
    numbered = [(number, row) for number, row in enumerate(rows, 1) if any(cell.strip() for cell in row)]
    if numbered and [cell.strip().lower() for cell in numbered[0][1]] == HEADER:
        numbered = numbered[1:]
    if not numbered:
        raise ProductError(CSV_EMPTY)
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    parsed: list[tuple[str, str, str]] = []
    for number, row in numbered:
        if len(row) != 3:
            problems.append((number, ROW_COLUMNS))
            continue
        try:
            fields = _fields(*row)
        except ProductError as error:
            problems.append((number, error.message))
            continue
        if fields[0] in seen:
            problems.append((number, ROW_REPEATED.format(sku=fields[0])))
            continue
        seen.add(fields[0])
        parsed.append(fields)
    if problems:
        raise ProductError(ROW_PROBLEM, rows=problems)
    existing = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(seen)))}
    added: list[str] = []
    changed: list[str] = []
    for sku, name, category in parsed:
        product = existing.get(sku)
        if product is None:
            product = Product(sku=sku, name=name, category=category, updated_at=at)
            product.created_at = at
            session.add(product)
            added.append(sku)
        elif (product.name, product.category) != (name, category):
            changed.append(sku)
        product.name, product.category = name, category
        product.updated_at, product.updated_by_staff_id = at, staff.id
    session.flush()
    record_change(
        session,
        staff,
        "product.import",
        Product,
        at,
        rows=len(parsed),
        added=len(added),
        changed=len(changed),
        **_sku_list("added_skus", added),
        **_sku_list("changed_skus", changed),
    )
    return ImportResult(added=len(added), updated=len(parsed) - len(added))


def _sku_list(key: str, skus: list[str]) -> dict[str, str]:
    """The first AUDITED_SKUS of `skus` as one text (with how many more), for an import's audit row."""
    if not skus:
        return {}
    shown = ", ".join(skus[:AUDITED_SKUS])
    return {key: shown + (f" … (+{len(skus) - AUDITED_SKUS})" if len(skus) > AUDITED_SKUS else "")}


def product_changes(session: Session, product: Product, limit: int = 50) -> list[StaffAudit]:
    """A product's audit rows (added, edited), newest first; imports are in the audit log as one row each."""
    query = select(StaffAudit).where(StaffAudit.target_type == "product", StaffAudit.target_id == product.id)
    return list(session.scalars(query.order_by(StaffAudit.id.desc()).limit(limit)))


def list_products(session: Session, category: str | None = None) -> list[Product]:
    """The catalogue by category and SKU (one category's products when given)."""
    query = select(Product).order_by(Product.category, Product.sku)
    if category:
        query = query.where(Product.category == category)
    return list(session.scalars(query))


def categories(session: Session) -> list[tuple[str, int]]:
    """Every category in the catalogue with its number of products, by name."""
    query = select(Product.category, func.count()).group_by(Product.category).order_by(Product.category)
    return [(category, n) for category, n in session.execute(query)]


def catalogue_imports(session: Session, limit: int = 10) -> list[StaffAudit]:
    """The latest CSV imports' audit rows (who, when, how many rows added and changed), newest first."""
    query = select(StaffAudit).where(StaffAudit.action == "product.import")
    return list(session.scalars(query.order_by(StaffAudit.id.desc()).limit(limit)))
