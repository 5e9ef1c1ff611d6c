"""Points expire at the end of the year after they were earned, oldest first; members hear about it 30 days ahead,
once per expiry date, in LINE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import delivery
from bot.db import transaction
from bot.services.rewards.ledger import ledger_sum, points_balance, post_points
from bot.services.rewards.point_expiry import expire_points, expiry_for, points_expiring, remind_expiring_points
from models import PointEntry, PointExpiryReminder
from tests.binding_helpers import friend
from tests.factories import make_member
from tests.helpers import count, in_unit_of_work, texts

TZ = ZoneInfo("Asia/Taipei")


def taipei(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def earn(runtime, member_id: int, points: int, at: datetime) -> None:
    with transaction(runtime.sessions) as session:
        post_points(
            session, member_id, points, kind="earn", reason="消費", channel="pos",
            idempotency_key=f"earn:{at.isoformat()}", at=at, expires_at=expiry_for(at, TZ),
        )  # fmt: skip


def spend(runtime, member_id: int, points: int, at: datetime) -> None:
    with transaction(runtime.sessions) as session:
        post_points(
            session, member_id, -points, kind="spend", reason="折抵", channel="pos",
            idempotency_key=f"spend:{at.isoformat()}", at=at,
        )  # fmt: skip


def expire(runtime, member_id: int, at: datetime) -> int:
    with transaction(runtime.sessions) as session:
        entry = expire_points(session, member_id, at)
        return -entry.points if entry else 0


def test_points_expire_on_the_last_day_of_the_year_after_they_were_earned_in_taipei():
    assert expiry_for(taipei(2026, 3, 1, 10, 0), TZ) == taipei(2027, 12, 31, 23, 59, 59)
    assert expiry_for(taipei(2026, 12, 31, 23, 30), TZ) == taipei(2027, 12, 31, 23, 59, 59)
    # 16:30 UTC on New Year's Eve is already New Year's Day in Taipei.
    assert expiry_for(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), TZ) == taipei(2027, 12, 31, 23, 59, 59)


def test_the_oldest_points_expire_first_and_spending_uses_them_first(runtime, session):
    member = make_member(runtime.sessions)
    earn(runtime, member.id, 100, taipei(2025, 5, 1, 12, 0))
    earn(runtime, member.id, 50, taipei(2026, 5, 1, 12, 0))
    spend(runtime, member.id, 30, taipei(2026, 6, 1, 12, 0))

    on_time = expire(runtime, member.id, taipei(2026, 12, 31, 23, 0))
    at_new_year = expire(runtime, member.id, taipei(2027, 1, 1, 0, 5))
    again = expire(runtime, member.id, taipei(2027, 1, 2, 0, 5))
    a_year_later = expire(runtime, member.id, taipei(2028, 1, 1, 0, 5))

    assert (on_time, at_new_year, again, a_year_later) == (0, 70, 0, 50)
    assert points_balance(session, member.id) == ledger_sum(session, member.id) == 0
    keys = session.scalars(
        select(PointEntry.idempotency_key).where(PointEntry.kind == "expire").order_by(PointEntry.id)
    )
    assert keys.all() == [f"expire:{member.id}:2026-12-31", f"expire:{member.id}:2027-12-31"]


def test_nothing_expires_when_the_old_points_were_all_spent(runtime, session):
    member = make_member(runtime.sessions)
    earn(runtime, member.id, 100, taipei(2025, 5, 1, 12, 0))
    spend(runtime, member.id, 100, taipei(2025, 6, 1, 12, 0))
    earn(runtime, member.id, 40, taipei(2026, 5, 1, 12, 0))

    assert expire(runtime, member.id, taipei(2027, 1, 1, 0, 5)) == 0
    assert points_balance(session, member.id) == 40


def test_points_expiring_tells_how_many_will_go_by_a_date(runtime):
    member = make_member(runtime.sessions)
    earn(runtime, member.id, 100, taipei(2025, 5, 1, 12, 0))
    earn(runtime, member.id, 50, taipei(2026, 5, 1, 12, 0))
    spend(runtime, member.id, 30, taipei(2026, 6, 1, 12, 0))

    with runtime.sessions() as session:
        assert points_expiring(session, member.id, taipei(2026, 12, 1)) == 0
        assert points_expiring(session, member.id, taipei(2026, 12, 31, 23, 59, 59)) == 70
        assert points_expiring(session, member.id, taipei(2028, 1, 1)) == 120


def test_a_bound_member_hears_30_days_ahead_once_per_expiry_date(runtime, platform, session):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    earn(runtime, member.id, 70, taipei(2025, 5, 1, 12, 0))
    unbound = make_member(runtime.sessions, member_number="M000002", phone="+886987654321")
    earn(runtime, unbound.id, 70, taipei(2025, 5, 2, 12, 0))

    too_early = remind(runtime, taipei(2026, 11, 30, 10, 0))
    due = remind(runtime, taipei(2026, 12, 2, 10, 0))
    next_day = remind(runtime, taipei(2026, 12, 3, 10, 0))

    assert (too_early, len(due), next_day) == ([], 1, [])
    now = datetime.now(UTC)
    assert [delivery.deliver(runtime.sessions, runtime.line, message_id, now) for message_id in due] == ["sent"]
    assert texts(platform.bot_messages(user)).count("您有 70 點將於 2026-12-31 到期") == 1
    assert count(session, PointExpiryReminder) == 1


def test_a_member_who_blocked_the_account_is_not_reminded(runtime, platform, session):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    earn(runtime, member.id, 70, taipei(2025, 5, 1, 12, 0))
    platform.unfollow(user)

    assert remind(runtime, taipei(2026, 12, 2, 10, 0)) == []
    assert count(session, PointExpiryReminder) == 0


def test_the_daily_job_expires_what_is_due(app, runtime, session):
    from bot.tasks import expire_due_points

    member = make_member(runtime.sessions)
    earn(runtime, member.id, 30, datetime.now(UTC) - timedelta(days=800))

    expire_due_points()

    assert points_balance(session, member.id) == 0
    assert session.scalars(select(PointEntry.kind).order_by(PointEntry.id)).all() == ["earn", "expire"]


def remind(runtime, at: datetime) -> list[int]:
    """The reminder job at `at`: the outbox messages it wrote (the app sends them after the commit)."""
    return in_unit_of_work(runtime, lambda uow: remind_expiring_points(uow.session, at, TZ), send=False)[1].outbox_ids
