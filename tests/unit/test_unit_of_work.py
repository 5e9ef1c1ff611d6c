"""The unit of work: facts become outbox messages in the same transaction, delivery is handed on only after the
commit, and a rolled-back unit of work leaves nothing behind."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.dispatch import RENDERERS
from bot.services import facts
from bot.services.messaging import outbox
from bot.services.rewards.tiers import evaluate_tier
from bot.uow import AfterCommit, unit_of_work
from models import Member, OutboundMessage, Purchase, Store
from tests.binding_helpers import friend
from tests.factories import make_member


def _collect(runtime) -> list[AfterCommit]:
    handed_on: list[AfterCommit] = []
    runtime.after_commit = handed_on.append
    return handed_on


def _spend(uow, member_id: int, amount: int) -> None:
    store = Store(code="S1", name="台北門市")
    uow.session.add(store)
    uow.session.flush()
    uow.session.add(
        Purchase(
            store_id=store.id,
            channel="pos",
            transaction_id="T1",
            request_hash="x",
            member_id=member_id,
            amount=amount,
            response={},
            created_at=uow.now,
        )
    )
    uow.session.flush()


def test_a_fact_becomes_an_outbox_push_handed_on_after_the_commit(platform, runtime, session, clock):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    handed_on = _collect(runtime)

    with unit_of_work(runtime) as uow:
        _spend(uow, member.id, 20_000)
        change = evaluate_tier(uow.session, uow.session.get_one(Member, member.id), uow.now, allow_downgrade=False)
        assert change is not None
        assert handed_on == []  # nothing is handed on before the commit

    (message,) = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "push")).all()
    assert message.recipients == [user]
    assert message.messages[0]["text"] == "恭喜升級為銀卡會員！"
    assert handed_on == [AfterCommit(outbox_ids=[message.id])]


def test_a_unit_of_work_that_fails_writes_and_hands_on_nothing(platform, runtime, session, clock):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    handed_on = _collect(runtime)

    with pytest.raises(RuntimeError), unit_of_work(runtime) as uow:
        _spend(uow, member.id, 20_000)
        evaluate_tier(uow.session, uow.session.get_one(Member, member.id), uow.now, allow_downgrade=False)
        raise RuntimeError("the request failed after the upgrade")

    assert session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "push")).all() == []
    assert session.get_one(Member, member.id).tier == "regular"
    assert handed_on == []


def test_a_member_who_blocked_the_account_hears_nothing_of_a_fact(platform, runtime, session, clock):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    platform.unfollow(user)
    handed_on = _collect(runtime)

    with unit_of_work(runtime) as uow:
        uow.record(facts.TierChanged(member.id, "regular", "gold", upgrade=True))

    assert session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "push")).all() == []
    assert handed_on == []


def test_a_change_of_membership_relinks_the_rich_menu_after_the_commit(platform, runtime, clock):
    user = friend(platform, "林怡君")
    handed_on = _collect(runtime)

    with unit_of_work(runtime) as uow:
        uow.record(facts.MembershipChanged(user))
        uow.record(facts.MembershipChanged(user))

    assert handed_on == [AfterCommit(menu_users=[user])]


def test_every_fact_about_a_member_has_a_renderer():
    assert set(facts.MemberFact.__subclasses__()) == set(RENDERERS)
    assert set(facts.Fact.__subclasses__()) == {facts.MemberFact, facts.MembershipChanged}


def test_the_unit_of_work_reads_the_clock_once(runtime, clock):
    with unit_of_work(runtime) as uow:
        started = uow.now
        clock.advance(minutes=5)
        assert uow.now == started


def test_a_fact_recorded_in_a_savepoint_that_rolls_back_is_forgotten(platform, runtime, session, clock):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    handed_on = _collect(runtime)

    with unit_of_work(runtime) as uow:
        attempt = uow.session.begin_nested()
        uow.record(facts.TierChanged(member.id, "regular", "gold", upgrade=True))
        inner = uow.session.begin_nested()
        uow.record(facts.TierChanged(member.id, "regular", "silver", upgrade=True))
        inner.commit()
        attempt.rollback()  # both facts were recorded inside the rolled-back savepoint
        with uow.session.begin_nested():
            uow.record(facts.PointsExpiring(member.id, 70, date(2026, 12, 31)))

    pushes = session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "push")).all()
    assert [p.messages[0]["text"] for p in pushes] == ["您有 70 點將於 2026-12-31 到期"]
    assert handed_on == [AfterCommit(outbox_ids=[pushes[0].id])]


def test_outbox_rows_a_claim_flushed_early_are_written_once_and_sent_by_this_sender(platform, runtime, session, clock):
    line_user_id = friend(platform, "阿明")
    before = session.scalar(select(func.max(OutboundMessage.id))) or 0

    with unit_of_work(runtime, after_commit=lambda work: None, claim_outbox=True) as uow:
        # A message said once per key is written at once (an id); a push is added to the session, unwritten: the
        # claim's read of the first flushes the second before the unit of work writes its own rows.
        once = outbox.queue_push_once(uow.session, line_user_id, [{"type": "text", "text": "一次"}], "key-1")
        uow.send_after_commit([once] if once is not None else [])
        uow.send_after_commit(outbox.queue_push(uow.session, line_user_id, [{"type": "text", "text": "推播"}]))

    written = select(OutboundMessage).where(OutboundMessage.id > before).order_by(OutboundMessage.id)
    rows = session.scalars(written).all()
    assert [(row.messages[0]["text"], row.status, row.attempts) for row in rows] == [
        ("一次", "sending", 1),
        ("推播", "sending", 1),
    ]
    assert sorted(message.id for message in uow.after_commit.claimed) == [row.id for row in rows]
