"""Segments: every condition against a fixture of members and purchases, AND / OR / NOT, the marketing
exclusions and refused definitions (SQLite, and PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from bot.services.marketing.definition import DefinitionError, parse_definition
from bot.services.marketing.segments import (
    audience_for_marketing,
    count,
    create_segment,
    delete_segment,
    mask_name,
    members_matching,
    sample,
    update_segment,
)
from models import (
    Checkin,
    Consent,
    Coupon,
    CouponTemplate,
    LineUser,
    Member,
    MemberBalance,
    Purchase,
    ReferralAttribution,
    Segment,
    Staff,
    StaffAudit,
    StampCard,
    StampCardTemplate,
    Store,
)

TZ = ZoneInfo("Asia/Taipei")
# 2026-06-15 10:00 in Taipei.
AT = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
_seq = itertools.count(1)


class World:
    """Stores, staff and a way to add members with their purchases, coupons, cards and check-ins."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.north = Store(code="N01", name="北店")
        self.south = Store(code="S01", name="南店")
        session.add_all([self.north, self.south])
        session.flush()
        self.clerk = Staff(code="C9", name="店員", role="clerk", store_id=self.north.id, is_active=True)
        session.add(self.clerk)
        self.coupon_template = CouponTemplate(code="T50", name="折 50", kind="amount_off", value=50)
        self.card_template = StampCardTemplate(code="CARD", name="集點卡", rule="per_visit", stamps_to_fill=8)
        session.add_all([self.coupon_template, self.card_template])
        session.flush()

    def member(
        self,
        name: str,
        *,
        tier: str = "regular",
        bound: bool = True,
        blocked: bool = False,
        consent: bool | None = True,
        **fields: Any,
    ) -> Member:
        n = next(_seq)
        line_user = None
        if bound:
            line_user = LineUser(line_user_id=f"U{n:032d}", is_blocked=blocked)
            self.session.add(line_user)
            self.session.flush()
        fields.setdefault("created_at", AT - timedelta(days=400))
        member = Member(
            member_number=f"M{n:06d}",
            name=name,
            tier=tier,
            line_user_id=line_user.id if line_user else None,
            **fields,
        )
        self.session.add(member)
        self.session.flush()
        if consent is not None:
            self.session.add(
                Consent(
                    member_id=member.id,
                    terms_version="1",
                    privacy_version="1",
                    marketing_opt_in=consent,
                    channel="line",
                )
            )
            self.session.flush()
        return member

    def purchase(
        self, member: Member, amount: int, *, days_ago: float, store: Store | None = None, **fields: Any
    ) -> None:
        n = next(_seq)
        self.session.add(
            Purchase(
                store_id=(store or self.north).id,
                channel="pos",
                transaction_id=f"T{n}",
                request_hash="0" * 64,
                member_id=member.id,
                amount=amount,
                response={},
                created_at=AT - timedelta(days=days_ago),
                **fields,
            )
        )
        self.session.flush()

    def names(self, definition: Any) -> set[str]:
        return {
            self.session.get(Member, member_id).name  # type: ignore[union-attr]
            for member_id in self.session.scalars(members_matching(self.session, definition, AT, TZ))
        }


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def test_tier_binding_consent_home_store(world: World) -> None:
    world.member("金卡", tier="gold", home_store_id=world.north.id)
    world.member("銀卡", tier="silver", bound=False, home_store_id=world.south.id)
    world.member("一般", consent=False)
    world.member("後來同意", consent=False)
    later = world.session.query(Member).filter_by(name="後來同意").one()
    world.session.add(
        Consent(member_id=later.id, terms_version="1", privacy_version="1", marketing_opt_in=True, channel="web")
    )
    world.session.flush()

    assert world.names({"type": "tier", "tiers": ["gold", "silver"]}) == {"金卡", "銀卡"}
    assert world.names({"type": "line_bound", "value": False}) == {"銀卡"}
    assert world.names({"type": "line_bound", "value": True}) == {"金卡", "一般", "後來同意"}
    # The latest consent record decides.
    assert world.names({"type": "marketing_consent", "value": False}) == {"一般"}
    assert world.names({"type": "home_store", "store_ids": [world.south.id]}) == {"銀卡"}


def test_purchase_conditions_over_a_period(world: World) -> None:
    big = world.member("大戶")
    small = world.member("小額")
    old = world.member("久未消費")
    world.member("從未消費")
    world.purchase(
        big, 3000, days_ago=5, store=world.south, items=[{"sku": "TEA-01", "name": "茶", "quantity": 1, "price": 3000}]
    )
    world.purchase(big, 1000, days_ago=10, refunded_amount=500)
    world.purchase(small, 200, days_ago=1, items=[{"sku": "CAKE", "name": "蛋糕", "quantity": 1, "price": 200}])
    world.purchase(
        old,
        5000,
        days_ago=200,
        store=world.south,
        items=[{"sku": "TEA-01", "name": "茶", "quantity": 1, "price": 5000}],
    )

    assert world.names({"type": "spend", "days": 30, "min": 1000}) == {"大戶"}  # 3000 + 1000 - 500 refunded
    assert world.names({"type": "spend", "days": 30, "max": 200}) == {"小額", "久未消費", "從未消費"}
    assert world.names({"type": "spend", "days": 365, "min": 3501}) == {"久未消費"}
    assert world.names({"type": "visits", "days": 30, "min": 2}) == {"大戶"}
    assert world.names({"type": "visits", "days": 30, "max": 0}) == {"久未消費", "從未消費"}
    assert world.names({"type": "avg_basket", "days": 30, "min": 1000}) == {"大戶"}  # 3500 / 2
    assert world.names({"type": "avg_basket", "days": 30, "max": 1000}) == {"小額"}
    assert world.names({"type": "visited_store", "store_ids": [world.south.id], "days": 30}) == {"大戶"}
    assert world.names({"type": "visited_store", "store_ids": [world.south.id], "days": 365}) == {"大戶", "久未消費"}
    assert world.names({"type": "bought_sku", "skus": ["TEA-01"], "days": 30}) == {"大戶"}
    assert world.names({"type": "bought_sku", "skus": ["TEA-01", "CAKE"], "days": 365}) == {"大戶", "小額", "久未消費"}
    assert world.names({"type": "bought_sku", "skus": ["NOPE"], "days": 365}) == set()
    recent = (AT - timedelta(days=30)).astimezone(TZ).date().isoformat()
    assert world.names({"type": "last_visit", "before": recent}) == {"久未消費"}
    assert world.names({"type": "last_visit", "since": recent}) == {"大戶", "小額"}


def test_period_is_brand_local_days(world: World) -> None:
    member = world.member("昨晚")
    # 2026-06-13 23:30 Taipei = 15:30 UTC: two local days ago, so outside "the last 2 days" (6-14 and 6-15).
    world.session.add(
        Purchase(
            store_id=world.north.id,
            channel="pos",
            transaction_id="TZ1",
            request_hash="0" * 64,
            member_id=member.id,
            amount=100,
            response={},
            created_at=datetime(2026, 6, 13, 15, 30, tzinfo=UTC),
        )
    )
    world.session.flush()
    assert world.names({"type": "visits", "days": 2, "min": 1}) == set()
    assert world.names({"type": "visits", "days": 3, "min": 1}) == {"昨晚"}


def test_ledger_coupon_and_engagement_conditions(world: World) -> None:
    rich = world.member("多點", birthday=date(1990, 6, 1), source="counter", referred_by_staff_id=world.clerk.id)
    poor = world.member("少點", birthday=date(1991, 12, 24))
    world.member("沒資料", birthday=None, created_at=AT - timedelta(days=3))
    world.session.add_all(
        [
            MemberBalance(member_id=rich.id, points=800, updated_at=AT),
            MemberBalance(member_id=poor.id, points=20, updated_at=AT),
            StampCard(member_id=rich.id, template_id=world.card_template.id, stamps=6, is_open=True),
            StampCard(member_id=poor.id, template_id=world.card_template.id, stamps=1, is_open=True),
        ]
    )
    tpl = world.coupon_template.id
    world.session.add_all(
        [
            Coupon(
                template_id=tpl,
                member_id=rich.id,
                code="C1",
                source="manual",
                source_key="k1",
                valid_from=AT - timedelta(days=10),
                expires_at=AT + timedelta(days=3),
            ),
            Coupon(
                template_id=tpl,
                member_id=poor.id,
                code="C2",
                source="manual",
                source_key="k2",
                valid_from=AT - timedelta(days=10),
                expires_at=AT + timedelta(days=60),
            ),
            Coupon(
                template_id=tpl,
                member_id=poor.id,
                code="C3",
                source="manual",
                source_key="k3",
                valid_from=AT - timedelta(days=10),
                redeemed_at=AT - timedelta(days=2),
            ),
            Checkin(member_id=rich.id, local_day=date(2026, 6, 14), streak=7, streak_started_on=date(2026, 6, 8)),
            Checkin(member_id=poor.id, local_day=date(2026, 6, 10), streak=9, streak_started_on=date(2026, 6, 2)),
        ]
    )
    world.session.flush()

    assert world.names({"type": "points", "min": 500}) == {"多點"}
    assert world.names({"type": "points", "max": 100}) == {"少點", "沒資料"}  # no balance row is 0 points
    assert world.names({"type": "stamps", "template_id": world.card_template.id, "min": 5}) == {"多點"}
    assert world.names({"type": "stamps", "template_id": world.card_template.id, "max": 2}) == {"少點", "沒資料"}
    assert world.names({"type": "coupons", "state": "held"}) == {"多點", "少點"}
    assert world.names({"type": "coupons", "state": "expiring", "days": 7}) == {"多點"}
    assert world.names({"type": "coupons", "state": "redeemed", "days": 7, "template_id": tpl}) == {"少點"}
    assert world.names({"type": "birthday_month", "months": [6, 7]}) == {"多點"}
    assert world.names({"type": "birthday_month", "months": [12]}) == {"少點"}
    assert world.names({"type": "joined", "since": (AT - timedelta(days=10)).date().isoformat()}) == {"沒資料"}
    assert world.names({"type": "joined", "before": (AT - timedelta(days=10)).date().isoformat()}) == {"多點", "少點"}
    assert world.names({"type": "source", "sources": ["counter"]}) == {"多點"}
    assert world.names({"type": "referred_by", "staff_ids": [world.clerk.id]}) == {"多點"}
    # 少點's streak of 9 ended on 6-10; 多點 checked in yesterday, so theirs is alive.
    assert world.names({"type": "checkin_streak", "min": 5}) == {"多點"}


def test_referral_attribution_counts_as_referred(world: World) -> None:
    from models import ReferralLead, ReferralTouch

    member = world.member("推薦來的")
    touch = ReferralTouch(
        line_user_id=member.line_user_id, staff_id=world.clerk.id, store_id=world.north.id, at=AT, relation="friend"
    )
    world.session.add(touch)
    world.session.flush()
    lead = ReferralLead(
        line_user_id=member.line_user_id, touch_id=touch.id, staff_id=world.clerk.id, store_id=world.north.id, at=AT
    )
    world.session.add(lead)
    world.session.flush()
    world.session.add(
        ReferralAttribution(
            member_id=member.id, lead_id=lead.id, staff_id=world.clerk.id, store_id=world.north.id, kind="join", at=AT
        )
    )
    world.session.flush()
    assert world.names({"type": "referred_by", "staff_ids": [world.clerk.id]}) == {"推薦來的"}


def test_and_or_not(world: World) -> None:
    world.member("金北", tier="gold", home_store_id=world.north.id)
    world.member("金南", tier="gold", home_store_id=world.south.id)
    world.member("一般北", home_store_id=world.north.id)
    gold = {"type": "tier", "tiers": ["gold"]}
    north = {"type": "home_store", "store_ids": [world.north.id]}
    assert world.names({"all": [gold, north]}) == {"金北"}
    assert world.names({"any": [gold, north]}) == {"金北", "金南", "一般北"}
    assert world.names({"not": gold}) == {"一般北"}
    assert world.names({"all": [north, {"not": gold}]}) == {"一般北"}
    assert world.names({"any": [{"all": [gold, {"not": north}]}, {"not": {"any": [gold, north]}}]}) == {"金南"}


def test_marketing_audience_excludes_blocked_unbound_unconsented_and_erased(world: World) -> None:
    ok = world.member("可以")
    world.member("封鎖", blocked=True)
    world.member("未綁定", bound=False)
    world.member("不同意", consent=False)
    world.member("沒紀錄", consent=None)
    world.member("已刪除", erased_at=AT - timedelta(days=1))
    everyone = {"type": "tier", "tiers": ["regular"]}

    rows = world.session.execute(audience_for_marketing(world.session, everyone, AT, TZ)).all()
    assert [(r[0], r[1]) for r in rows] == [(ok.id, world.session.get(LineUser, ok.line_user_id).line_user_id)]  # type: ignore[union-attr]
    # Erased members are not in the segment itself either.
    assert "已刪除" not in world.names(everyone)
    assert count(world.session, members_matching(world.session, everyone, AT, TZ)) == 5
    assert count(world.session, audience_for_marketing(world.session, everyone, AT, TZ)) == 1
    # A saved segment works the same way.
    segment = Segment(name="全部", definition=everyone, updated_at=AT)
    world.session.add(segment)
    world.session.flush()
    assert count(world.session, audience_for_marketing(world.session, segment, AT, TZ)) == 1


def test_sample_masks_names_and_shows_no_phone(world: World) -> None:
    world.member("林怡君", phone_e164="+886912345678")
    world.member("王明")
    picked = sample(world.session, members_matching(world.session, {"type": "tier", "tiers": ["regular"]}, AT, TZ))
    assert [(s.masked_name, s.member_number.startswith("M")) for s in picked] == [("王*", True), ("林*君", True)]
    assert "912345678" not in repr(picked)
    assert mask_name("A") == "A*" and mask_name(None) == "—"


@pytest.mark.parametrize(
    "definition",
    [
        None,
        [],
        {"all": []},
        {"all": [{"type": "tier", "tiers": ["gold"]}], "any": []},
        {"type": "nonsense"},
        {"type": "tier", "tiers": []},
        {"type": "tier", "tiers": ["platinum"]},
        {"type": "spend", "days": 0, "min": 1},
        {"type": "spend", "days": 30},
        {"type": "spend", "days": 30, "min": 10, "max": 5},
        {"type": "spend", "days": 30, "min": -1},
        {"type": "visits", "days": "many", "min": 1},
        {"type": "visits", "days": "٣٠", "min": 1},
        {"type": "line_bound", "value": "maybe"},
        {"type": "birthday_month", "months": [13]},
        {"type": "last_visit", "since": "2026-02-30"},
        {"type": "last_visit", "since": "2026-03-01", "before": "2026-02-01"},
        {"type": "bought_sku", "skus": [""], "days": 30},
        {"type": "coupons", "state": "lost"},
        {"type": "home_store", "store_ids": ["x"]},
        {"not": {"not": {"not": {"not": {"not": {"type": "tier", "tiers": ["gold"]}}}}}},
        {"all": [{"type": "tier", "tiers": ["gold"]}] * 41},
    ],
)
def test_bad_definitions_are_refused(definition: Any) -> None:
    with pytest.raises(DefinitionError) as refused:
        parse_definition(definition)
    assert refused.value.message


def test_refusal_names_the_condition_and_problem() -> None:
    with pytest.raises(DefinitionError) as refused:
        parse_definition(
            {"all": [{"type": "tier", "tiers": ["gold"]}, {"type": "spend", "days": 30, "min": 9, "max": 1}]}
        )
    assert refused.value.params["path"] == "1.2"
    assert refused.value.params["kind"] == "期間內消費金額"


def test_save_rename_delete_are_audited(world: World) -> None:
    marketer = Staff(code="K9", name="行銷", role="marketer", is_active=True)
    world.session.add(marketer)
    world.session.flush()
    segment = create_segment(world.session, marketer, "  金卡  會員 ", {"type": "tier", "tiers": ["gold"]}, AT)
    assert segment.name == "金卡 會員"
    with pytest.raises(DefinitionError):
        create_segment(world.session, marketer, "金卡 會員", {"type": "tier", "tiers": ["gold"]}, AT)
    with pytest.raises(DefinitionError):
        create_segment(world.session, marketer, "", {"type": "tier", "tiers": ["gold"]}, AT)
    update_segment(world.session, marketer, segment, "金卡", {"type": "tier", "tiers": ["gold", "silver"]}, AT)
    assert segment.definition == {"type": "tier", "tiers": ["gold", "silver"]}
    delete_segment(world.session, marketer, segment, AT)
    world.session.flush()
    actions = [a.action for a in world.session.query(StaffAudit).order_by(StaffAudit.id)]
    assert actions == ["segment.create", "segment.update", "segment.delete"]
    assert world.session.query(Segment).count() == 0
