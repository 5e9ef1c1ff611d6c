"""Stamp card work around the transaction: the daily expiry job, and pushes sent only once their transaction
commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.rewards.stamps import stamps_for_purchase
from models import Member, OutboundMessage, Purchase, StampCard, StampEntry
from tests.binding_helpers import friend
from tests.factories import make_member
from tests.helpers import count
from tests.pos import open_shop
from tests.stamp_helpers import T0, make_purchase, make_stamp_template


@pytest.fixture(autouse=True)
def shop(runtime):
    return open_shop(runtime.sessions)


def _buy(runtime, member: Member, purchase: Purchase, at: datetime) -> list[dict]:
    with transaction(runtime.sessions) as tx:
        row, bought = tx.get(Member, member.id), tx.get(Purchase, purchase.id)
        assert row is not None and bought is not None
        return stamps_for_purchase(tx, row, bought, at)


def test_the_daily_job_closes_the_cards_that_expired(app, runtime, session):
    from bot.tasks import expire_stamp_cards

    member = make_member(runtime.sessions)
    make_stamp_template(runtime.sessions, valid_days=1)
    long_ago = datetime.now(UTC) - timedelta(days=10)
    _buy(runtime, member, make_purchase(runtime.sessions, member, 300, long_ago), long_ago)

    expire_stamp_cards()

    card = session.scalars(select(StampCard)).one()
    assert (card.is_open, card.stamps, card.expired_at is not None) == (False, 0, True)
    assert session.scalars(select(StampEntry.kind).order_by(StampEntry.id)).all() == ["earn", "expire"]


def test_a_card_filled_in_a_transaction_that_rolls_back_pushes_nothing(platform, runtime, session):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    make_stamp_template(runtime.sessions, stamps_to_fill=1)
    purchase = make_purchase(runtime.sessions, member, 100)
    seen, queued = len(platform.bot_messages(user)), count(session, OutboundMessage)

    with pytest.raises(RuntimeError), transaction(runtime.sessions) as tx:
        row, bought = tx.get(Member, member.id), tx.get(Purchase, purchase.id)
        assert row is not None and bought is not None
        assert stamps_for_purchase(tx, row, bought, T0)[0]["filled_now"]
        raise RuntimeError("the purchase failed after stamping")

    assert platform.bot_messages(user)[seen:] == []
    assert count(session, OutboundMessage) == queued and count(session, StampCard) == 0
