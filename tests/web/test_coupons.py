"""The coupon service: issuing once per source within the limits, validity, redeeming once, undoing, voiding."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.db import transaction
from bot.refusal_texts import text_for
from bot.services.refusals import Reason
from bot.services.rewards.coupons import (
    UNDO_WINDOW,
    CouponRefused,
    find_coupon,
    redeem_coupon,
    undo_redemption,
    usable_coupons,
    void_coupon,
)
from models import Coupon, CouponRedemption, CouponTemplate, Staff
from tests.coupon_helpers import T0, give, make_template, redemptions
from tests.factories import make_member
from tests.pos import Shop, open_shop


@pytest.fixture
def shop(runtime) -> Shop:
    return open_shop(runtime.sessions)


def _redeem(runtime, shop: Shop, code: str, at=T0, **kwargs) -> Coupon:
    """Redeem with the coupon's own member at the till, unless `member_id=` says otherwise."""
    with transaction(runtime.sessions) as tx:
        coupon = find_coupon(tx, code)
        options = {
            "store_id": shop.store_id,
            "staff_id": shop.clerk_id,
            "channel": "pos_api",
            "at": at,
            "member_id": coupon.member_id if coupon else None,
            **kwargs,
        }
        return redeem_coupon(tx, code, **options)


def _undo(runtime, shop: Shop, code: str, at, staff_id=None, store_id=None) -> Coupon:
    with transaction(runtime.sessions) as tx:
        return undo_redemption(tx, code, staff_id=staff_id or shop.clerk_id, store_id=store_id or shop.store_id, at=at)


def _refusal(call) -> CouponRefused:
    with pytest.raises(CouponRefused) as refused:
        call()
    return refused.value


def test_the_same_source_issues_one_coupon_with_an_unguessable_scanner_friendly_code(runtime, session, member):
    template = make_template(runtime.sessions)

    first, created = give(runtime.sessions, member, template, "stamp-card:1")
    again, created_again = give(runtime.sessions, member, template, "stamp-card:1")

    assert created and not created_again
    assert again.id == first.id and again.code == first.code
    assert re.fullmatch(r"CP\d{12}", first.code)
    assert session.get(CouponTemplate, template.id).issued_count == 1
    assert session.query(Coupon).count() == 1


def test_the_per_member_limit_counts_each_members_coupons(runtime, session, member):
    template = make_template(runtime.sessions, per_member_limit=1)
    other = make_member(runtime.sessions, member_number="M000002", phone="+886922333444")
    give(runtime.sessions, member, template, "campaign:1")

    refused = _refusal(lambda: give(runtime.sessions, member, template, "campaign:2"))
    _, created = give(runtime.sessions, other, template, "campaign:3")

    assert refused.reason == "member_limit" and text_for(refused) == "已達此優惠券每人可領取的上限"
    assert created
    assert session.get(CouponTemplate, template.id).issued_count == 2


def test_the_total_limit_stops_issuing_and_a_refusal_counts_nothing(runtime, session, member):
    template = make_template(runtime.sessions, total_limit=2)
    give(runtime.sessions, member, template, "a")
    give(runtime.sessions, member, template, "b")

    refused = _refusal(lambda: give(runtime.sessions, member, template, "c"))

    assert refused.reason == "sold_out"
    assert session.get(CouponTemplate, template.id).issued_count == 2
    assert session.query(Coupon).count() == 2


def test_inactive_and_ended_templates_issue_nothing(runtime, member):
    inactive = make_template(runtime.sessions, "OFF", is_active=False)
    ended = make_template(runtime.sessions, "OLD", valid_until=T0)

    assert _refusal(lambda: give(runtime.sessions, member, inactive, "x")).reason == "inactive"
    assert _refusal(lambda: give(runtime.sessions, member, ended, "y")).reason == "ended"


def test_validity_is_the_window_and_the_days_after_issue_whichever_ends_first(runtime, member):
    window_end = T0 + timedelta(days=10)
    short_window = make_template(runtime.sessions, "WIN", valid_until=window_end, valid_days_after_issue=30)
    long_window = make_template(
        runtime.sessions, "DAYS", valid_until=T0 + timedelta(days=90), valid_days_after_issue=30
    )
    later_start = make_template(
        runtime.sessions, "SOON", valid_from=T0 + timedelta(days=2), valid_days_after_issue=None
    )

    by_window, _ = give(runtime.sessions, member, short_window, "w")
    by_days, _ = give(runtime.sessions, member, long_window, "d")
    starts_later, _ = give(runtime.sessions, member, later_start, "s")

    assert (by_window.valid_from, by_window.expires_at) == (T0, window_end)
    assert (by_days.valid_from, by_days.expires_at) == (T0, T0 + timedelta(days=30))
    assert (starts_later.valid_from, starts_later.expires_at) == (T0 + timedelta(days=2), None)


def test_a_redemption_uses_the_coupon_once_and_records_where(runtime, session, shop, member):
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k")

    redeemed = _redeem(runtime, shop, coupon.code.lower(), spend=300, transaction_id="T-1")

    assert redeemed.redeemed_at == T0
    (redemption,) = session.query(CouponRedemption).all()
    assert (redemption.store_id, redemption.staff_id, redemption.channel) == (shop.store_id, shop.clerk_id, "pos_api")
    assert (redemption.transaction_id, redemption.is_active, redemption.created_at) == ("T-1", True, T0)
    assert _refusal(lambda: _redeem(runtime, shop, coupon.code)).reason == "used"


def test_each_refusal_has_its_reason_and_changes_nothing(runtime, session, shop, member):
    template = make_template(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, template, "k")
    other = make_member(runtime.sessions, member_number="M000002", phone="+886922333444")
    soon = make_template(runtime.sessions, "SOON", valid_from=T0 + timedelta(days=1))
    not_yet, _ = give(runtime.sessions, member, soon, "later")
    voided, _ = give(runtime.sessions, member, template, "void-me")
    with transaction(runtime.sessions) as tx:
        void_coupon(tx, voided.code, at=T0)

    cases = {
        "unknown": lambda: _redeem(runtime, shop, "CP000000000000"),
        "not_yet_valid": lambda: _redeem(runtime, shop, not_yet.code),
        "expired": lambda: _redeem(runtime, shop, coupon.code, at=T0 + timedelta(days=30)),
        "voided": lambda: _redeem(runtime, shop, voided.code),
        "foreign": lambda: _redeem(runtime, shop, coupon.code, member_id=other.id),
        "min_spend": lambda: _redeem(runtime, shop, coupon.code, spend=299),
    }
    reasons = {reason: _refusal(call) for reason, call in cases.items()}

    assert {reason: refusal.reason for reason, refusal in reasons.items()} == {reason: reason for reason in cases}
    assert text_for(reasons["min_spend"], "zh-TW") == "此優惠券需消費滿 NT$300"
    assert text_for(reasons["min_spend"], "en") == "This coupon needs a spend of at least NT$300."
    assert session.query(CouponRedemption).count() == 0
    assert session.get(Coupon, coupon.id).redeemed_at is None
    assert _redeem(runtime, shop, coupon.code, spend=300, member_id=member.id).redeemed_at == T0


def test_a_clerk_of_the_store_undoes_a_redemption_within_the_window_and_both_records_stay(
    runtime, session, shop, member
):
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k")
    _redeem(runtime, shop, coupon.code)

    undone = _undo(runtime, shop, coupon.code, at=T0 + UNDO_WINDOW)

    assert undone.redeemed_at is None
    (redemption,) = session.query(CouponRedemption).all()
    assert (redemption.is_active, redemption.undone_at, redemption.undone_by_staff_id) == (
        False,
        T0 + UNDO_WINDOW,
        shop.clerk_id,
    )
    assert _refusal(lambda: _undo(runtime, shop, coupon.code, at=T0 + UNDO_WINDOW)).reason == "not_redeemed"
    again = _redeem(runtime, shop, coupon.code, at=T0 + timedelta(hours=1))
    assert again.redeemed_at == T0 + timedelta(hours=1)
    assert (redemptions(session, coupon.id), redemptions(session, coupon.id, live_only=True)) == (2, 1)


def test_an_undo_after_the_window_or_from_another_store_is_refused(runtime, session, shop, member):
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k")
    _redeem(runtime, shop, coupon.code)
    other_clerk = _other_clerk(session, shop)

    late = _refusal(lambda: _undo(runtime, shop, coupon.code, at=T0 + UNDO_WINDOW + timedelta(seconds=1)))
    elsewhere = _refusal(
        lambda: _undo(runtime, shop, coupon.code, at=T0, staff_id=other_clerk, store_id=shop.other_store_id)
    )

    assert (late.reason, elsewhere.reason) == ("undo_window_passed", "other_store")
    assert session.get(Coupon, coupon.id).redeemed_at == T0
    assert redemptions(session, coupon.id, live_only=True) == 1


def _other_clerk(session, shop: Shop) -> int:
    return session.query(Staff).filter_by(store_id=shop.other_store_id).one().id


def test_usable_coupons_are_the_unused_valid_ones_soonest_to_expire_first(runtime, shop, member):
    template = make_template(runtime.sessions, valid_days_after_issue=None)
    short = make_template(runtime.sessions, "SHORT", valid_days_after_issue=3)
    expired = make_template(runtime.sessions, "GONE", valid_days_after_issue=1)
    lasting, _ = give(runtime.sessions, member, template, "a")
    soon, _ = give(runtime.sessions, member, short, "b")
    used, _ = give(runtime.sessions, member, template, "c")
    give(runtime.sessions, member, expired, "d", at=T0 - timedelta(days=2))
    _redeem(runtime, shop, used.code)

    with transaction(runtime.sessions) as tx:
        usable = [coupon.id for coupon in usable_coupons(tx, member.id, T0)]

    assert usable == [soon.id, lasting.id]


def test_void_refuses_a_used_or_already_voided_coupon(runtime, shop, member):
    template = make_template(runtime.sessions)
    used, _ = give(runtime.sessions, member, template, "a")
    kept, _ = give(runtime.sessions, member, template, "b")
    _redeem(runtime, shop, used.code)
    with transaction(runtime.sessions) as tx:
        assert void_coupon(tx, kept.code, at=T0).voided_at == T0

    with transaction(runtime.sessions) as tx:
        assert _refusal(lambda: void_coupon(tx, used.code, at=T0)).reason == "used"
        assert _refusal(lambda: void_coupon(tx, kept.code, at=T0)).reason == "voided"


def test_every_refusal_reads_in_english_for_the_pos_and_english_speaking_members():
    for reason in (reason for reason in Reason if reason.name.startswith("COUPON_")):
        refusal = CouponRefused(reason, min_spend="300")
        assert text_for(refusal, "en") != text_for(refusal, "zh-TW"), reason
        assert text_for(refusal, "en").isascii(), reason
