"""Segments over product categories, tags and RFM groups: the catalogue and its CSV import, manual and rule tags with
their history, the RFM scores and groups, and who each new condition matches alone, under NOT and in OR (SQLite,
and PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.marketing.definition import DefinitionError, parse_definition
from bot.services.marketing.products import ProductError, import_csv, save_product
from bot.services.marketing.rfm import RFM_GROUPS, compute_rfm, distribution
from bot.services.marketing.segments import audience_for_marketing
from bot.services.marketing.tags import (
    TagError,
    add_tag,
    create_tag,
    evaluate_rule_tag,
    evaluate_rule_tags,
    find_member,
    list_tags,
    remove_tag,
    tag_segment,
)
from models import MemberRfm, MemberTag, MemberTagEvent, Product, Segment, Staff, TagEvaluation
from tests.marketing.test_segments import AT, TZ, World


@pytest.fixture
def session(runtime: Any) -> Iterator[Session]:
    """A session in one transaction (rule tags are evaluated in savepoints), rolled back at the end."""
    with runtime.sessions() as db, db.begin():
        yield db
        db.rollback()


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


@pytest.fixture
def marketer(world: World) -> Staff:
    staff = Staff(code="K7", name="行銷", role="marketer", is_active=True)
    world.session.add(staff)
    world.session.flush()
    return staff


def _line(sku: str) -> dict[str, Any]:
    return {"sku": sku, "name": sku, "quantity": 1, "price": 100}


def test_bought_category_follows_the_catalogue(world: World, marketer: Staff) -> None:
    save_product(world.session, marketer, None, "TEA-01", "烏龍茶", "茶飲", AT)
    save_product(world.session, marketer, None, "CAKE", "蛋糕", "甜點", AT)
    tea = world.member("喝茶")
    cake = world.member("吃蛋糕")
    both = world.member("都買")
    unknown = world.member("未知商品")
    old = world.member("很久以前")
    world.member("沒有明細")
    world.purchase(tea, 100, days_ago=3, items=[_line("TEA-01")])
    world.purchase(cake, 100, days_ago=3, items=[_line("CAKE")])
    world.purchase(both, 100, days_ago=1, items=[_line("NOPE"), _line("TEA-01"), _line("CAKE")])
    world.purchase(unknown, 100, days_ago=1, items=[_line("UNLISTED")])
    world.purchase(old, 100, days_ago=100, items=[_line("TEA-01")])
    world.purchase(world.session.query(type(tea)).filter_by(name="沒有明細").one(), 100, days_ago=1)

    drinks = {"type": "bought_category", "categories": ["茶飲"], "days": 30}
    sweets = {"type": "bought_category", "categories": ["甜點"], "days": 30}
    assert world.names(drinks) == {"喝茶", "都買"}
    assert world.names({**drinks, "days": 365}) == {"喝茶", "都買", "很久以前"}
    assert world.names({"type": "bought_category", "categories": ["茶飲", "甜點"], "days": 30}) == {
        "喝茶",
        "吃蛋糕",
        "都買",
    }
    assert world.names({"type": "bought_category", "categories": ["沒有這類"], "days": 365}) == set()
    assert world.names({"all": [drinks, {"not": sweets}]}) == {"喝茶"}
    assert world.names({"any": [sweets, {"type": "tier", "tiers": ["gold"]}]}) == {"吃蛋糕", "都買"}
    assert world.names({"not": drinks}) == {"吃蛋糕", "未知商品", "很久以前", "沒有明細"}
    # Moving a product to another category changes who matches, with no change to purchases.
    product = world.session.scalar(select(Product).where(Product.sku == "CAKE"))
    save_product(world.session, marketer, product, "CAKE", "蛋糕", "茶飲", AT)
    assert world.names(drinks) == {"喝茶", "吃蛋糕", "都買"}


def test_catalogue_refuses_bad_products(world: World, marketer: Staff) -> None:
    save_product(world.session, marketer, None, "A1", "甲", "類", AT)
    for sku, name, category in [
        ("", "甲", "類"),
        ("A2", "", "類"),
        ("A3", "甲", " "),
        ("A\x01", "甲", "類"),
        ("A" * 65, "甲", "類"),
    ]:
        with pytest.raises(ProductError):
            save_product(world.session, marketer, None, sku, name, category, AT)
    with pytest.raises(ProductError) as taken:
        save_product(world.session, marketer, None, "A1", "乙", "類", AT)
    assert taken.value.message == "SKU「{sku}」已經在商品目錄裡"
    assert world.session.scalar(select(func.count()).select_from(Product)) == 1


def test_csv_import_adds_and_updates_or_changes_nothing(world: World, marketer: Staff) -> None:
    save_product(world.session, marketer, None, "A1", "舊名", "舊類", AT)
    result = import_csv(world.session, marketer, "sku,name,category\nA1,新名,新類\nB2,乙,甜點\n", AT)
    assert (result.added, result.updated) == (1, 1)
    assert world.session.scalar(select(Product.category).where(Product.sku == "A1")) == "新類"

    with pytest.raises(ProductError) as refused:
        import_csv(world.session, marketer, "sku,name,category\nC3,丙,茶\n,丁,茶\nD4,戊\nC3,重複,茶\n", AT)
    problems = refused.value.rows
    assert [row for row, _ in problems] == [3, 4, 5]
    assert "SKU" in problems[0][1] and "3 個欄位" in problems[1][1] and "重複" in problems[2][1]
    assert world.session.scalar(select(func.count()).select_from(Product)) == 2  # C3 not added either

    for bad in ["", "sku,name,category\n", "only,two\nA,B\n", "\x00"]:
        with pytest.raises(ProductError):
            import_csv(world.session, marketer, bad, AT)
    # Without a header row the first line is a product.
    assert import_csv(world.session, marketer, "E5,己,茶\r\n", AT).added == 1


def test_manual_tags_one_member_and_a_segment(world: World, marketer: Staff) -> None:
    vip = create_tag(world.session, marketer, " 貴賓 ", None, AT)
    assert vip.name == "貴賓" and vip.kind == "manual"
    with pytest.raises(TagError):
        create_tag(world.session, marketer, "貴賓", None, AT)
    with pytest.raises(TagError):
        create_tag(world.session, marketer, "", None, AT)
    amy = world.member("阿美", tier="gold")
    world.member("阿明", tier="gold")
    world.member("阿華")
    assert find_member(world.session, amy.member_number.lower()) is amy
    with pytest.raises(TagError):
        find_member(world.session, "NOPE")

    add_tag(world.session, marketer, vip, amy, AT)
    with pytest.raises(TagError):
        add_tag(world.session, marketer, vip, amy, AT)
    tagged = {"type": "tags", "tag_ids": [vip.id]}
    assert world.names(tagged) == {"阿美"}
    assert world.names({"not": tagged}) == {"阿明", "阿華"}

    gold = Segment(name="金卡", definition={"type": "tier", "tiers": ["gold"]}, updated_at=AT)
    world.session.add(gold)
    world.session.flush()
    assert tag_segment(world.session, marketer, vip, gold, AT, TZ) == 1  # 阿美 had it already
    assert world.names(tagged) == {"阿美", "阿明"}
    remove_tag(world.session, marketer, vip, amy, AT + timedelta(hours=1))
    with pytest.raises(TagError):
        remove_tag(world.session, marketer, vip, amy, AT)
    assert world.names(tagged) == {"阿明"}
    assert world.names({"any": [tagged, {"type": "tier", "tiers": ["regular"]}]}) == {"阿明", "阿華"}

    events = world.session.scalars(select(MemberTagEvent).order_by(MemberTagEvent.id)).all()
    assert [(e.action, e.source, e.staff_id) for e in events] == [
        ("add", "manual", marketer.id),
        ("add", "segment", marketer.id),
        ("remove", "manual", marketer.id),
    ]
    assert [row.members for row in list_tags(world.session)] == [1]


def test_a_member_holds_a_tag_once(world: World, marketer: Staff) -> None:
    from sqlalchemy.exc import IntegrityError

    tag = create_tag(world.session, marketer, "一次", None, AT)
    member = world.member("某人")
    world.session.add(MemberTag(member_id=member.id, tag_id=tag.id, added_at=AT))
    world.session.flush()
    with pytest.raises(IntegrityError), world.session.begin_nested():
        world.session.add(MemberTag(member_id=member.id, tag_id=tag.id, added_at=AT))
        world.session.flush()


def test_rule_tag_follows_its_segment(world: World, marketer: Staff) -> None:
    big = Segment(name="大戶", definition={"type": "spend", "days": 30, "min": 1000}, updated_at=AT)
    world.session.add(big)
    world.session.flush()
    rule = create_tag(world.session, marketer, "高消費", big, AT)
    assert rule.kind == "rule"
    rich = world.member("有錢")
    later = world.member("後來")
    world.member("沒買")
    world.purchase(rich, 2000, days_ago=1)
    with pytest.raises(TagError):
        add_tag(world.session, marketer, rule, later, AT)

    first = evaluate_rule_tag(world.session, rule, AT, TZ, marketer)
    assert (first.matched, first.gained, first.lost, first.staff_id) == (1, 1, 0, marketer.id)
    assert world.names({"type": "tags", "tag_ids": [rule.id]}) == {"有錢"}

    world.purchase(later, 5000, days_ago=-35)
    # 40 days on, 有錢's purchase is out of the period and 後來's is in it.
    (nightly,) = evaluate_rule_tags(world.session, AT + timedelta(days=40), TZ)
    assert (nightly.matched, nightly.gained, nightly.lost, nightly.staff_id) == (1, 1, 1, None)
    assert world.names({"type": "tags", "tag_ids": [rule.id]}) == {"後來"}
    again = evaluate_rule_tag(world.session, rule, AT + timedelta(days=40), TZ)
    assert (again.gained, again.lost) == (0, 0)
    rule_events = world.session.scalars(
        select(MemberTagEvent).where(MemberTagEvent.source == "rule").order_by(MemberTagEvent.id)
    ).all()
    assert [(e.action, e.evaluation_id) for e in rule_events] == [
        ("add", first.id),
        ("remove", nightly.id),
        ("add", nightly.id),
    ]
    assert world.session.scalar(select(func.count()).select_from(TagEvaluation)) == 3


def test_rfm_scores_and_groups(world: World) -> None:
    # Ten buyers: member i bought i times, NT$100 * i each time, last i days ago... reversed so that the most
    # frequent and biggest spenders are also the most recent.
    buyers = []
    for i in range(1, 11):
        member = world.member(f"買家{i}")
        buyers.append(member)
        for n in range(i):
            world.purchase(member, 100 * i, days_ago=(11 - i) * 10 + n * 0.01)
    lapsed = world.member("一年前")
    world.purchase(lapsed, 99999, days_ago=400)
    world.member("沒買過")
    erased = world.member("已刪除", erased_at=AT - timedelta(days=1))
    world.purchase(erased, 100, days_ago=1)

    assert compute_rfm(world.session, AT, TZ) == 10
    rows = {r.member_id: r for r in world.session.scalars(select(MemberRfm))}
    scores = [(rows[m.id].recency, rows[m.id].frequency, rows[m.id].monetary) for m in buyers]
    assert scores == [
        (1, 1, 1),
        (1, 1, 1),
        (2, 2, 2),
        (2, 2, 2),
        (3, 3, 3),
        (3, 3, 3),
        (4, 4, 4),
        (4, 4, 4),
        (5, 5, 5),
        (5, 5, 5),
    ]
    groups = [rows[m.id].rfm_group for m in buyers]
    assert groups == ["lost", "lost", "hibernating", "hibernating", "attention", "attention"] + ["champions"] * 4
    assert rows[buyers[9].id].purchases == 10 and rows[buyers[9].id].spend == 10000

    assert world.names({"type": "rfm_group", "groups": ["champions"]}) == {"買家7", "買家8", "買家9", "買家10"}
    assert world.names({"type": "rfm_group", "groups": ["lost", "hibernating"]}) == {"買家1", "買家2", "買家3", "買家4"}
    assert "一年前" in world.names({"not": {"type": "rfm_group", "groups": list(RFM_GROUPS)}})
    assert world.names(
        {"any": [{"type": "rfm_group", "groups": ["attention"]}, {"type": "spend", "days": 3650, "min": 99999}]}
    ) == {"買家5", "買家6", "一年前"}
    shown = distribution(world.session)
    assert shown.counts == {
        "champions": 4,
        "loyal": 0,
        "potential": 0,
        "new": 0,
        "attention": 2,
        "hibernating": 2,
        "lost": 2,
    }
    assert shown.total == 10 and shown.computed_at == AT
    # Recomputed later, the groups are replaced, not added to.
    # Recomputed 300 days on, the groups are replaced: buyers 1-4 (last seen 70-100 days before AT) are out of it.
    assert compute_rfm(world.session, AT + timedelta(days=300), TZ) == 6
    assert world.session.scalar(select(func.count()).select_from(MemberRfm)) == 6


def test_rfm_new_potential_and_loyal(world: World) -> None:
    # 20 buyers, so recency rank r scores 1 + (r - 1) // 4 (docs/console.md): old single buyers, frequent buyers
    # seen 50 days ago, recent repeat buyers and brand-new single buyers.
    for i in range(5):
        world.purchase(world.member(f"舊客{i}"), 100, days_ago=300 + i)
    for i in range(5):
        member = world.member(f"常客{i}")
        for n in range(6):
            world.purchase(member, 10, days_ago=50 + i * 0.01 + n)
    for i in range(5):
        member = world.member(f"回購{i}")
        world.purchase(member, 10, days_ago=2 + i * 0.01)
        world.purchase(member, 10, days_ago=20)
        world.purchase(member, 10, days_ago=21)
    for i in range(5):
        world.purchase(world.member(f"新客{i}"), 100, days_ago=1 + i * 0.01)
    compute_rfm(world.session, AT, TZ)

    def group(code: str) -> set[str]:
        return world.names({"type": "rfm_group", "groups": [code]})

    assert group("new") == {f"新客{i}" for i in range(5)}
    assert group("potential") == {"回購0", "回購1", "回購2"}
    assert group("attention") == {"回購3", "回購4"}
    assert group("loyal") == {"常客0", "常客1"}
    assert group("hibernating") == {"舊客0", "常客2", "常客3", "常客4"}
    assert group("lost") == {"舊客1", "舊客2", "舊客3", "舊客4"}
    assert group("champions") == set()


@pytest.mark.parametrize(
    "definition",
    [
        {"type": "bought_category", "categories": [], "days": 30},
        {"type": "bought_category", "categories": ["  "], "days": 30},
        {"type": "bought_category", "categories": ["茶\x00"], "days": 30},
        {"type": "bought_category", "categories": ["茶" * 65], "days": 30},
        {"type": "bought_category", "categories": [3], "days": 30},
        {"type": "bought_category", "categories": ["茶"]},
        {"type": "bought_category", "categories": "茶", "days": 30},
        {"type": "tags", "tag_ids": []},
        {"type": "tags", "tag_ids": ["x"]},
        {"type": "tags", "tag_ids": [0]},
        {"type": "tags"},
        {"type": "rfm_group", "groups": []},
        {"type": "rfm_group", "groups": ["vip"]},
        {"type": "rfm_group", "groups": "champions"},
    ],
)
def test_bad_new_conditions_are_refused(definition: Any) -> None:
    with pytest.raises(DefinitionError) as refused:
        parse_definition({"all": [{"type": "tier", "tiers": ["gold"]}, definition]})
    assert refused.value.params["path"] == "1.2"


def test_new_conditions_refusals_name_the_problem_in_chinese() -> None:
    cases = {
        "bought_category": ({"type": "bought_category", "categories": [" "], "days": 30}, "商品類別請填 1 到 64 個字"),
        "tags": ({"type": "tags", "tag_ids": []}, "請至少選一個項目（最多 100 個）"),
        "rfm_group": ({"type": "rfm_group", "groups": ["vip"]}, "不認得的 RFM 分群"),
    }
    for definition, problem in cases.values():
        with pytest.raises(DefinitionError) as refused:
            parse_definition(definition)
        assert refused.value.params["problem"] == problem
    normalised = parse_definition({"type": "bought_category", "categories": [" 茶飲 ", "甜點", "茶飲"], "days": "7"})
    assert normalised == {"type": "bought_category", "categories": ["甜點", "茶飲"], "days": 7}


def test_purchase_and_consent_probes_mixed_with_other_conditions(world: World, marketer: Staff) -> None:
    # On PostgreSQL an AND of member-by-member probes (spend, visits, consent...) and other conditions evaluates the
    # others first; the answer must not depend on it, under AND, OR and NOT.
    rich_gold = world.member("金大戶", tier="gold")
    poor_gold = world.member("金小額", tier="gold")
    rich_regular = world.member("一般大戶")
    shy_gold = world.member("金不同意", tier="gold", consent=False)
    world.purchase(rich_gold, 2000, days_ago=3, store=world.south)
    world.purchase(poor_gold, 100, days_ago=3, store=world.south)
    world.purchase(rich_regular, 3000, days_ago=3, store=world.south)
    world.purchase(shy_gold, 5000, days_ago=3, store=world.south)
    gold = {"type": "tier", "tiers": ["gold"]}
    south = {"type": "visited_store", "store_ids": [world.south.id], "days": 30}
    big = {"type": "spend", "days": 30, "min": 1000}
    consent = {"type": "marketing_consent", "value": True}
    typical = {"all": [gold, south, big, consent]}
    assert world.names(typical) == {"金大戶"}
    assert world.names({"all": [gold, {"not": big}]}) == {"金小額"}
    assert world.names({"all": [gold, {"any": [big, {"type": "visits", "days": 30, "max": 0}]}]}) == {
        "金大戶",
        "金不同意",
    }
    assert world.names({"all": [south, {"not": consent}]}) == {"金不同意"}
    assert world.names({"not": typical}) == {"金小額", "一般大戶", "金不同意"}
    assert world.names({"any": [typical, {"all": [{"not": gold}, big]}]}) == {"金大戶", "一般大戶"}
    assert world.names({"all": [gold, {"all": [big, {"type": "last_visit", "since": "2026-06-01"}]}]}) == {
        "金大戶",
        "金不同意",
    }
    rows = world.session.execute(audience_for_marketing(world.session, {"all": [gold, big]}, AT, TZ)).all()
    assert [member_id for member_id, _ in rows] == [rich_gold.id]
