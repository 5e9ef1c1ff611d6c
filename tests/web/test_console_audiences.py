"""The marketer's console: the product catalogue (add, edit, CSV import with row-numbered errors), member tags (a
member's tags by member number, a segment tagged at once, rule tags computed on demand) and the RFM page; who may
open them; the builder offers the new conditions; a segment a rule tag follows cannot be deleted."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import transaction
from models import MemberRfm, MemberTag, MemberTagEvent, Product, Purchase, Segment, Tag, TagEvaluation
from tests.admin_helpers import crew, send, sign_in
from tests.factories import make_member

PAGES = ["/staff/console/products", "/staff/console/tags", "/staff/console/rfm"]


@pytest.fixture
def people(runtime: Any) -> dict[str, Any]:
    return crew(runtime.sessions)


@pytest.mark.parametrize(("who", "status"), [("marketer", 200), ("admin", 200), ("clerk", 403), ("manager", 403)])
def test_who_may_open_the_pages(client: Any, people: dict[str, Any], who: str, status: int) -> None:
    sign_in(client, people[who].code)
    for page in PAGES:
        assert client.get(page).status_code == status, page
    home = client.get("/staff/").get_data(as_text=True)
    assert all((page in home) == (status == 200) for page in PAGES)


def test_products_add_edit_and_refuse(client: Any, session: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    added = send(client, "/staff/console/products", {"sku": "TEA-01", "name": "烏龍茶", "category": "茶飲"})
    assert added.status_code == 302
    page = client.get("/staff/console/products").get_data(as_text=True)
    assert "已儲存商品 TEA-01" in page and "烏龍茶" in page
    refused = send(client, "/staff/console/products", {"sku": "TEA-01", "name": "別的", "category": "茶飲"})
    assert refused.status_code == 400 and "SKU「TEA-01」已經在商品目錄裡" in refused.get_data(as_text=True)
    blank = send(client, "/staff/console/products", {"sku": "X1", "name": "", "category": "茶飲"})
    assert blank.status_code == 400 and "商品名稱請填 1 到 200 個字" in blank.get_data(as_text=True)
    product = session.scalar(select(Product).where(Product.sku == "TEA-01"))
    edited = send(client, f"/staff/console/products/{product.id}", {"sku": "TEA-01", "name": "烏龍", "category": "茶"})
    assert edited.status_code == 302
    assert session.scalar(select(Product.category).where(Product.sku == "TEA-01")) == "茶"
    bad_edit = send(client, f"/staff/console/products/{product.id}", {"sku": "", "name": "烏龍", "category": "茶"})
    assert bad_edit.status_code == 400
    assert session.scalar(select(func.count()).select_from(Product)) == 1
    assert client.get("/staff/console/products/999999").status_code == 404


def _upload(client: Any, content: bytes) -> Any:
    return send(
        client,
        "/staff/console/products/import",
        {"file": (io.BytesIO(content), "products.csv")},
        content_type="multipart/form-data",
    )


def test_csv_import_names_bad_rows_and_imports_nothing(client: Any, session: Any, people: dict[str, Any]) -> None:
    sign_in(client, people["marketer"].code)
    bad = _upload(client, "sku,name,category\nA1,甲,茶\n,乙,茶\nB2,丙\n".encode())
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "檔案有 2 列有問題，沒有匯入任何商品" in text
    assert "第 3 列：SKU 請填 1 到 64 個字" in text and "第 4 列：要有 3 個欄位" in text
    assert session.scalar(select(func.count()).select_from(Product)) == 0
    assert _upload(client, b"\xff\xfe\x00bad").status_code == 400
    assert send(client, "/staff/console/products/import", {}).status_code == 400
    good = _upload(client, "\ufeffsku,name,category\nA1,甲,茶\nB2,乙,甜點\n".encode())
    assert good.status_code == 302
    assert "已匯入：新增 2 個、更新 0 個商品" in client.get("/staff/console/products").get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Product)) == 2


def test_tags_by_member_number_and_for_a_segment(
    client: Any, runtime: Any, session: Any, people: dict[str, Any]
) -> None:
    gold = make_member(runtime.sessions, member_number="M000101", name="金卡", phone="+886911000001", tier="gold")
    make_member(runtime.sessions, member_number="M000102", name="一般", phone="+886911000002")
    with transaction(runtime.sessions) as db:
        db.add(
            Segment(name="金卡", definition={"type": "tier", "tiers": ["gold", "silver"]}, updated_at=gold.created_at)
        )
    sign_in(client, people["marketer"].code)
    assert send(client, "/staff/console/tags", {"name": "貴賓", "kind": "manual"}).status_code == 302
    assert send(client, "/staff/console/tags", {"name": "", "kind": "manual"}).status_code == 400
    assert send(client, "/staff/console/tags", {"name": "自動", "kind": "rule", "segment_id": ""}).status_code == 400
    vip = session.scalar(select(Tag).where(Tag.name == "貴賓"))

    found = client.get("/staff/console/tags?member=m000102").get_data(as_text=True)
    assert "M000102" in found and "沒有標籤" in found
    assert "找不到會員編號 NOPE" in client.get("/staff/console/tags?member=nope").get_data(as_text=True)
    added = send(client, "/staff/console/tags/member", {"member": "M000102", "tag_id": vip.id, "action": "add"})
    assert added.status_code == 302 and "member=M000102" in added.headers["Location"]
    again = send(client, "/staff/console/tags/member", {"member": "M000102", "tag_id": vip.id, "action": "add"})
    assert again.status_code == 400 and "已經有標籤" in again.get_data(as_text=True)
    segment = session.scalar(select(Segment).where(Segment.name == "金卡"))
    bulk = send(client, f"/staff/console/tags/{vip.id}/segment", {"segment_id": segment.id})
    assert bulk.status_code == 302
    assert "分群「金卡」有 1 位會員新加上標籤「貴賓」" in client.get("/staff/console/tags").get_data(as_text=True)
    removed = send(client, "/staff/console/tags/member", {"member": "M000102", "tag_id": vip.id, "action": "remove"})
    assert removed.status_code == 302
    history = client.get("/staff/console/tags?member=M000102").get_data(as_text=True)
    assert "行銷小組" in history and history.count("貴賓") >= 2
    holders = set(session.scalars(select(MemberTag.member_id).where(MemberTag.tag_id == vip.id)))
    assert holders == {gold.id}
    events = session.execute(select(MemberTagEvent.action, MemberTagEvent.source).order_by(MemberTagEvent.id)).all()
    assert [tuple(e) for e in events] == [("add", "manual"), ("add", "segment"), ("remove", "manual")]


def test_rule_tag_is_computed_on_creation_and_on_demand(
    client: Any, runtime: Any, session: Any, people: dict[str, Any]
) -> None:
    gold = make_member(runtime.sessions, member_number="M000201", phone="+886911000011", tier="gold")
    with transaction(runtime.sessions) as db:
        db.add(Segment(name="金卡", definition={"type": "tier", "tiers": ["gold"]}, updated_at=gold.created_at))
    segment = session.scalar(select(Segment))
    sign_in(client, people["marketer"].code)
    created = send(client, "/staff/console/tags", {"name": "金卡標籤", "kind": "rule", "segment_id": segment.id})
    assert created.status_code == 302
    rule = session.scalar(select(Tag).where(Tag.name == "金卡標籤"))
    assert set(session.scalars(select(MemberTag.member_id).where(MemberTag.tag_id == rule.id))) == {gold.id}
    refused = send(client, "/staff/console/tags/member", {"member": "M000201", "tag_id": rule.id, "action": "remove"})
    assert refused.status_code == 400 and "是自動標籤" in refused.get_data(as_text=True)
    make_member(runtime.sessions, member_number="M000202", phone="+886911000012", tier="gold")
    assert send(client, f"/staff/console/tags/{rule.id}/evaluate").status_code == 302
    page = client.get("/staff/console/tags").get_data(as_text=True)
    assert "符合 2 人，新增 1 人，移除 0 人" in page
    evaluations = session.scalars(select(TagEvaluation).order_by(TagEvaluation.id)).all()
    assert [(e.gained, e.staff_id) for e in evaluations] == [(1, people["marketer"].id), (1, people["marketer"].id)]
    deleting = send(client, f"/staff/console/segments/{segment.id}/delete")
    assert deleting.status_code == 409 and "自動標籤的條件" in deleting.get_data(as_text=True)


def test_rfm_page_computes_and_shows_the_groups(
    client: Any, runtime: Any, session: Any, people: dict[str, Any]
) -> None:
    member = make_member(runtime.sessions, phone="+886911000021")
    with transaction(runtime.sessions) as db:
        from models import Store

        store = Store(code="R01", name="店")
        db.add(store)
        db.flush()
        db.add(
            Purchase(
                store_id=store.id,
                channel="pos",
                transaction_id="R1",
                request_hash="0" * 64,
                member_id=member.id,
                amount=500,
                response={},
            )
        )
    sign_in(client, people["marketer"].code)
    assert "還沒有計算過" in client.get("/staff/console/rfm").get_data(as_text=True)
    assert send(client, "/staff/console/rfm/compute").status_code == 302
    page = client.get("/staff/console/rfm").get_data(as_text=True)
    assert "已重新計算 RFM 分群：1 位會員" in page and "冠軍顧客" in page and "最後計算" in page
    # Scores are quintiles among buyers: the only buyer is in the lowest one of each (docs/console.md).
    assert session.execute(select(MemberRfm.recency, MemberRfm.rfm_group)).one() == (1, "lost")
    assert "100.0%" in page


def test_builder_offers_categories_tags_and_rfm_groups(client: Any, runtime: Any, people: dict[str, Any]) -> None:
    with transaction(runtime.sessions) as db:
        from datetime import UTC, datetime

        db.add(Product(sku="A1", name="甲", category="茶飲", updated_at=datetime.now(UTC)))
        db.add(Tag(name="貴賓", kind="manual"))
    sign_in(client, people["marketer"].code)
    page = client.get("/staff/console/segments/new").get_data(as_text=True)
    options = json.loads(
        page.split('data-options="', 1)[1].split('"', 1)[0].replace("&#34;", '"').replace("&quot;", '"')
    )
    assert [c[0] for c in options["categories"]] == ["茶飲"]
    assert [t[1] for t in options["tags"]] == ["貴賓"]
    assert [g[1] for g in options["rfmGroups"]][:2] == ["冠軍顧客", "忠誠顧客"]
    kinds = {code for code, _ in options["kinds"]}
    assert {"bought_category", "tags", "rfm_group"} <= kinds


def test_the_nightly_job_computes_rfm_and_rule_tags(app: Any, runtime: Any, session: Any) -> None:
    from bot import tasks

    gold = make_member(runtime.sessions, member_number="M000401", phone="+886911000031", tier="gold")
    make_member(runtime.sessions, member_number="M000402", phone="+886911000032")
    with transaction(runtime.sessions) as db:
        segment = Segment(name="金卡", definition={"type": "tier", "tiers": ["gold"]}, updated_at=gold.created_at)
        db.add(segment)
        db.flush()
        db.add(Tag(name="金卡標籤", kind="rule", segment_id=segment.id))
        from models import Store

        store = Store(code="N01", name="店")
        db.add(store)
        db.flush()
        db.add(
            Purchase(
                store_id=store.id,
                channel="pos",
                transaction_id="N1",
                request_hash="0" * 64,
                member_id=gold.id,
                amount=100,
                response={},
            )
        )

    tasks.refresh_segment_facts.call_local()

    assert set(session.scalars(select(MemberTag.member_id))) == {gold.id}
    evaluation = session.scalar(select(TagEvaluation))
    assert (evaluation.gained, evaluation.lost, evaluation.staff_id) == (1, 0, None)
    assert session.scalar(select(MemberRfm.member_id)) == gold.id
