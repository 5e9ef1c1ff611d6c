"""Coupon-template edits and product catalogue edits and imports are in the audit log, as the tier, stamp-card and
task settings are: who, when, what changed (new values); nothing when nothing changed or the change was refused.
A product's page lists its own changes, the catalogue page its imports; the audit page names them. SQLite, and
PostgreSQL with DATABASE_URL."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import transaction
from models import CouponTemplate, Product, StaffAudit
from tests.admin_helpers import crew, send, sign_in

COUPON_FORM = {
    "name": "滿 500 折 80",
    "kind": "amount_off",
    "value": "80",
    "min_spend": "300",
    "is_active": "yes",
}


@pytest.fixture
def people(runtime: Any) -> dict[str, Any]:
    return crew(runtime.sessions)


@pytest.fixture
def template_id(runtime: Any) -> int:
    with transaction(runtime.sessions) as session:
        template = CouponTemplate(code="NT50OFF", name="滿 300 折 50", kind="amount_off", value=50, min_spend=300)
        session.add(template)
        session.flush()
        return template.id


def _rows(session: Any, prefix: str) -> list[StaffAudit]:
    query = select(StaffAudit).where(StaffAudit.action.startswith(prefix)).order_by(StaffAudit.id)
    return list(session.scalars(query))


def test_a_coupon_template_edit_is_audited_with_what_changed(client, session, people, template_id):
    sign_in(client, people["marketer"].code)
    path = f"/staff/console/coupons/{template_id}"

    assert send(client, path, {**COUPON_FORM, "value": "0"}).status_code == 400  # refused: nothing recorded
    assert _rows(session, "coupon_template") == []
    assert send(client, path, COUPON_FORM).status_code == 302
    assert send(client, path, COUPON_FORM).status_code == 302  # the same again: no change, no row

    [row] = _rows(session, "coupon_template")
    assert (row.action, row.actor_staff_id, row.target_type, row.target_id) == (
        "coupon_template.update",
        people["marketer"].id,
        "coupon_template",
        template_id,
    )
    assert row.detail == {"code": "NT50OFF", "name": "滿 500 折 80", "value": 80}
    assert row.at is not None

    sign_in(client, people["admin"].code)
    log = client.get("/staff/admin/audit").get_data(as_text=True)
    assert "修改優惠券" in log and "優惠券「NT50OFF」" in log
    assert "折抵金額或折扣：80" in log and "名稱：滿 500 折 80" in log and "行銷小組（K001）" in log


def test_a_coupon_kind_change_reads_in_words_in_the_log(client, session, people, template_id):
    sign_in(client, people["marketer"].code)
    form = {**COUPON_FORM, "kind": "free_item", "value": "", "item": "中杯拿鐵"}
    assert send(client, f"/staff/console/coupons/{template_id}", form).status_code == 302

    [row] = _rows(session, "coupon_template")
    assert row.detail["kind"] == "free_item" and row.detail["item"] == "中杯拿鐵" and row.detail["value"] == 0
    sign_in(client, people["admin"].code)
    log = client.get("/staff/admin/audit").get_data(as_text=True)
    assert "種類：兌換品項" in log and "品項：中杯拿鐵" in log


def test_product_additions_and_edits_are_audited_and_listed_on_the_product(client, session, people):
    sign_in(client, people["marketer"].code)
    assert (
        send(client, "/staff/console/products", {"sku": "TEA-01", "name": "烏龍茶", "category": "茶飲"}).status_code
        == 302
    )
    product = session.scalar(select(Product).where(Product.sku == "TEA-01"))
    path = f"/staff/console/products/{product.id}"
    assert send(client, path, {"sku": "TEA-02", "name": "烏龍茶", "category": "茶"}).status_code == 302
    assert send(client, path, {"sku": "TEA-02", "name": "烏龍茶", "category": "茶"}).status_code == 302  # unchanged
    assert send(client, path, {"sku": "", "name": "x", "category": "茶"}).status_code == 400  # refused
    refused = send(client, "/staff/console/products", {"sku": "TEA-02", "name": "別的", "category": "茶"})
    assert refused.status_code == 400

    rows = _rows(session, "product")
    assert [(r.action, r.target_id, r.actor_staff_id, r.detail) for r in rows] == [
        ("product.create", product.id, people["marketer"].id, {"sku": "TEA-01", "name": "烏龍茶", "category": "茶飲"}),
        (
            "product.update",
            product.id,
            people["marketer"].id,
            {"sku": "TEA-02", "sku_from": "TEA-01", "category": "茶"},
        ),
    ]
    page = client.get(path).get_data(as_text=True)
    history = page.split('data-testid="product-history"', 1)[1]
    assert history.index("修改商品") < history.index("新增商品")  # newest first
    assert "原 SKU：TEA-01" in history and "商品類別：茶" in history and "行銷小組（K001）" in history

    sign_in(client, people["admin"].code)
    log = client.get("/staff/admin/audit").get_data(as_text=True)
    assert "新增商品" in log and "修改商品" in log and "商品目錄「TEA-02」" in log and "原 SKU：TEA-01" in log


def test_an_import_is_one_audit_row_with_what_it_added_and_changed(client, session, people):
    sign_in(client, people["marketer"].code)
    send(client, "/staff/console/products", {"sku": "A1", "name": "甲", "category": "茶飲"})
    send(client, "/staff/console/products", {"sku": "B1", "name": "乙", "category": "茶飲"})
    content = "sku,name,category\nA1,甲,茶飲\nB1,乙乙,茶飲\nC1,丙,甜點\n".encode()

    imported = send(
        client,
        "/staff/console/products/import",
        {"file": (io.BytesIO(content), "products.csv")},
        content_type="multipart/form-data",
    )
    bad = send(
        client,
        "/staff/console/products/import",
        {"file": (io.BytesIO(b"D1,,\n"), "bad.csv")},
        content_type="multipart/form-data",
    )

    assert imported.status_code == 302 and bad.status_code == 400
    [row] = _rows(session, "product.import")
    assert (row.actor_staff_id, row.target_type, row.target_id) == (people["marketer"].id, "product", None)
    assert row.detail == {"rows": 3, "added": 1, "changed": 1, "added_skus": "C1", "changed_skus": "B1"}
    page = client.get("/staff/console/products").get_data(as_text=True)
    assert "3 列：新增 1 個、變更 1 個商品" in page.split('data-testid="import-history"', 1)[1]

    sign_in(client, people["admin"].code)
    log = client.get("/staff/admin/audit").get_data(as_text=True)
    assert "匯入商品目錄" in log and "新增的 SKU：C1" in log and "變更的 SKU：B1" in log


def test_a_big_import_names_the_first_skus_and_how_many_more(client, session, people):
    sign_in(client, people["marketer"].code)
    content = "\n".join(f"S{i:03d},品{i},類" for i in range(60)).encode()
    answer = send(
        client,
        "/staff/console/products/import",
        {"file": (io.BytesIO(content), "products.csv")},
        content_type="multipart/form-data",
    )

    assert answer.status_code == 302
    [row] = _rows(session, "product.import")
    assert row.detail["added"] == 60 and "changed_skus" not in row.detail
    assert row.detail["added_skus"].startswith("S000, S001") and row.detail["added_skus"].endswith("S049 … (+10)")
