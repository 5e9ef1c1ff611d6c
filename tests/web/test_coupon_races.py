"""Concurrency proofs: a one-use coupon redeemed by 200 concurrent attempts is used exactly once, and concurrent
issuing never passes a template's total limit nor issues twice for one source."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.db import make_engine, make_session_factory
from bot.refusal_texts import text_for
from bot.services.refusals import Reason
from bot.services.rewards import coupons
from bot.services.rewards.coupons import CouponRefused, issue_coupon, redeem_coupon
from models import Coupon, CouponRedemption, CouponTemplate, Member
from tests.concurrency import race
from tests.coupon_helpers import T0, give, make_template, redemptions
from tests.factories import make_member
from tests.pos import open_shop

ATTEMPTS = 200
# PostgreSQL allows 100 connections by default: the 200 attempts share these, all released by one barrier.
CONNECTIONS = 40
USED = text_for(CouponRefused(Reason.COUPON_USED))
SOLD_OUT = text_for(CouponRefused(Reason.COUPON_SOLD_OUT))


@pytest.fixture
def wide_sessions(runtime) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(runtime.settings.database_url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout=120)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def one_coupon(runtime):
    shop = open_shop(runtime.sessions)
    member = make_member(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "one-use")
    return shop, member, coupon


def _redeemer(shop, coupon):
    def work(tx: Session, i: int, _all_have_read) -> str:
        at = T0 + timedelta(seconds=1)
        redeem_coupon(
            tx, coupon.code, store_id=shop.store_id, staff_id=None, channel="pos_api", at=at, member_id=coupon.member_id
        )
        return "redeemed"

    return work


def test_200_concurrent_redemptions_of_a_one_use_coupon_give_exactly_one(wide_sessions, session, one_coupon):
    shop, _member, coupon = one_coupon

    results = race(wide_sessions, ATTEMPTS, _redeemer(shop, coupon))

    assert Counter(results) == {"redeemed": 1, USED: ATTEMPTS - 1}
    assert session.get(Coupon, coupon.id).redeemed_at == T0 + timedelta(seconds=1)
    assert redemptions(session, coupon.id) == 1
    assert redemptions(session, coupon.id, live_only=True) == 1


def test_when_every_attempt_has_seen_the_coupon_unused_the_conditional_update_lets_one_through(
    wide_sessions, session, one_coupon, monkeypatch
):
    """All racers pass the read check before any of them writes (on PostgreSQL, where they can run together):
    only the conditional UPDATE decides."""
    shop, _member, coupon = one_coupon
    racers = CONNECTIONS
    on_postgres = wide_sessions.kw["bind"].dialect.name == "postgresql"
    everyone_checked = threading.Barrier(racers, timeout=30)
    claim = coupons._claim

    def claim_after_everyone_checked(tx, claimed_coupon, at):
        if on_postgres:
            everyone_checked.wait()
        return claim(tx, claimed_coupon, at)

    monkeypatch.setattr(coupons, "_claim", claim_after_everyone_checked)

    results = race(wide_sessions, racers, _redeemer(shop, coupon))

    assert Counter(results) == {"redeemed": 1, USED: racers - 1}
    assert (redemptions(session, coupon.id), redemptions(session, coupon.id, live_only=True)) == (1, 1)


def test_concurrent_issuing_never_passes_the_total_limit(wide_sessions, runtime, session):
    limit = 7
    template = make_template(runtime.sessions, total_limit=limit)
    member = make_member(runtime.sessions)

    def work(tx: Session, i: int, _all_have_read) -> str:
        issue_coupon(
            tx,
            tx.get(Member, member.id),
            tx.get(CouponTemplate, template.id),
            source="campaign",
            source_key=f"flash:{i}",
            at=T0,
        )
        return "issued"

    results = race(wide_sessions, CONNECTIONS, work)

    assert Counter(results) == {"issued": limit, SOLD_OUT: CONNECTIONS - limit}
    assert session.get(CouponTemplate, template.id).issued_count == limit
    assert session.query(Coupon).count() == limit


def test_concurrent_issues_for_one_source_give_one_coupon(wide_sessions, runtime, session):
    template = make_template(runtime.sessions)
    member = make_member(runtime.sessions)

    def work(tx: Session, i: int, _all_have_read) -> str:
        coupon, created = issue_coupon(
            tx,
            tx.get(Member, member.id),
            tx.get(CouponTemplate, template.id),
            source="stamp_card",
            source_key="stamp-card:42",
            at=T0,
        )
        return f"{coupon.code}:{created}"

    results = race(wide_sessions, CONNECTIONS, work)

    (coupon,) = session.query(Coupon).all()
    assert Counter(results) == {f"{coupon.code}:True": 1, f"{coupon.code}:False": CONNECTIONS - 1}
    assert session.get(CouponTemplate, template.id).issued_count == 1
    assert session.query(CouponRedemption).count() == 0
