"""The programme dashboard from known data: members and bound members at the end of each brand-local week, binding
rates by home store and clerk, active members, and the weekly counts of stamps, coupons and tasks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.db import transaction
from bot.services.marketing.dashboard import programme_dashboard, week_starts
from models import (
    BindingAudit,
    Checkin,
    Coupon,
    Game,
    GamePlay,
    LineUser,
    Member,
    Mission,
    MissionProgress,
    Purchase,
    StampCard,
    StampEntry,
)
from tests.campaign_helpers import TAIPEI
from tests.coupon_helpers import make_template
from tests.factories import make_staff, make_store
from tests.stamp_helpers import make_stamp_template

AT = datetime(2026, 11, 25, 12, 0, tzinfo=TAIPEI)  # a Wednesday; this week began Monday 2026-11-23


def local(day: str, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=TAIPEI).replace(
        hour=hour, minute=minute
    )


def week(day: str) -> int:
    """The index (0..11) of the dashboard's week holding this day."""
    return (date.fromisoformat(day) - date(2026, 9, 7)).days // 7


def test_weeks_are_brand_local_mondays_ending_with_this_week():
    starts = week_starts(AT, TAIPEI)
    assert (starts[0], starts[-1], len(starts)) == (date(2026, 9, 7), date(2026, 11, 23), 12)
    # 23:30 UTC on Sunday is already Monday in Taipei.
    assert week_starts(datetime(2026, 11, 22, 16, 30, tzinfo=UTC), TAIPEI)[-1] == date(2026, 11, 23)


def _seed(sessions) -> dict[str, int]:
    tpe = make_store(sessions)
    khh = make_store(sessions, code="KHH01", name="高雄巨蛋店")
    c001 = make_staff(sessions, code="C001", name="王小美", store=tpe, password=None)
    c101 = make_staff(sessions, code="C101", name="張小明", store=khh, password=None)
    stamp_template = make_stamp_template(sessions)
    coupon_template = make_template(sessions)
    ids: dict[str, int] = {}
    with transaction(sessions) as session:

        def member(key: str, joined: datetime, *, home=None, clerk=None, bound=False, erased=None) -> Member:
            line_user = LineUser(line_user_id=f"U{key:0>32}") if bound else None
            if line_user:
                session.add(line_user)
                session.flush()
            row = Member(
                member_number=key.upper(),
                name=key,
                home_store_id=home,
                referred_by_staff_id=clerk,
                line_user_id=line_user.id if line_user else None,
                created_at=joined,
                erased_at=erased,
            )
            session.add(row)
            session.flush()
            ids[key] = row.id
            return row

        def audit(row: Member, action: str, at: datetime) -> None:
            line_user = session.get(LineUser, row.line_user_id) if row.line_user_id else None
            if line_user is None:
                line_user = LineUser(line_user_id=f"U{row.name}gone{action:0>24}")
                session.add(line_user)
                session.flush()
            session.add(
                BindingAudit(member_id=row.id, line_user_id=line_user.id, action=action, channel="api", created_at=at)
            )

        m1 = member("m1", local("2026-08-01"), home=tpe.id, bound=True)
        audit(m1, "bind", local("2026-09-10"))
        member("m2", local("2026-11-24"), home=tpe.id, clerk=c001.id)
        m3 = member("m3", local("2026-10-06"), home=khh.id, clerk=c101.id, bound=True)
        audit(m3, "bind", local("2026-11-17"))
        m4 = member("m4", local("2026-09-01"), home=tpe.id, erased=local("2026-11-10"))
        audit(m4, "bind", local("2026-09-02"))
        audit(m4, "unbind", local("2026-11-10"))
        m5 = member("m5", local("2026-11-23", 0, 30), clerk=c001.id, bound=True)  # Sunday 16:30 UTC
        audit(m5, "bind", local("2026-11-23", 0, 30))

        for n, (who, at, amount, refunded) in enumerate(
            [
                (m1, local("2026-10-27", 1), 500, 0),  # the first of the last 30 days
                (ids["m2"], local("2026-10-26", 23), 500, 0),  # the day before
                (m3, local("2026-11-20"), 300, 300),  # refunded in full
            ]
        ):
            member_id = who if isinstance(who, int) else who.id
            session.add(
                Purchase(
                    store_id=tpe.id,
                    channel="pos",
                    transaction_id=f"T{n}",
                    request_hash="0" * 64,
                    member_id=member_id,
                    amount=amount,
                    refunded_amount=refunded,
                    response={},
                    created_at=at,
                )
            )
        for n, (issued, redeemed) in enumerate(
            [(local("2026-11-24"), local("2026-11-25", 9)), (local("2026-11-18"), None), (local("2026-08-01"), None)]
        ):
            session.add(
                Coupon(
                    template_id=coupon_template.id,
                    member_id=m1.id,
                    code=f"C{n}",
                    source="manual",
                    source_key=f"test:{n}",
                    valid_from=issued,
                    created_at=issued,
                    redeemed_at=redeemed,
                )
            )
        for day in ("2026-11-24", "2026-10-13", "2026-10-14"):
            session.add(
                Checkin(
                    member_id=m1.id,
                    local_day=date.fromisoformat(day),
                    streak=1,
                    streak_started_on=date.fromisoformat(day),
                    created_at=local(day),
                )
            )
        card = StampCard(member_id=m1.id, template_id=stamp_template.id, filled_at=local("2026-11-24"), is_open=False)
        session.add(card)
        session.flush()
        for n, stamps in enumerate([3, -1, 2]):
            session.add(
                StampEntry(
                    card_id=card.id,
                    member_id=m1.id,
                    kind="earn" if stamps > 0 else "reverse",
                    stamps=stamps,
                    reason="消費",
                    channel="pos",
                    idempotency_key=f"test:{n}",
                    local_day=date(2026, 11, 24),
                    created_at=local("2026-11-24") if n < 2 else local("2026-11-03"),
                )
            )
        game = Game(code="DRAW", kind="draw", name="抽獎")
        session.add(game)
        session.flush()
        session.add(
            GamePlay(
                member_id=m1.id,
                game_id=game.id,
                game_kind="draw",
                local_day=date(2026, 11, 25),
                play_number=1,
                source="free",
                created_at=local("2026-11-25", 10),
            )
        )
        mission = Mission(
            code="VISIT",
            title="來店",
            kind="visit_store",
            target=1,
            starts_on=date(2026, 9, 1),
            ends_on=date(2026, 12, 31),
            reward_points=10,
        )
        session.add(mission)
        session.flush()
        session.add(
            MissionProgress(
                mission_id=mission.id,
                member_id=m1.id,
                period_start=date(2026, 9, 1),
                value=1,
                updated_at=local("2026-11-04"),
                completed_at=local("2026-11-04"),
            )
        )
    return ids


def test_members_and_bound_members_week_by_week(runtime, session):
    _seed(runtime.sessions)

    board = programme_dashboard(session, AT, TAIPEI)

    assert [row.members for row in board.weeks] == [2, 2, 2, 2, 3, 3, 3, 3, 3, 2, 2, 4]
    assert [row.bound for row in board.weeks] == [2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 3]
    new_members = [0] * 12
    new_members[week("2026-10-06")] = 1
    new_members[11] = 2  # m2, and m5 who joined at 00:30 on this week's Monday
    assert [row.new_members for row in board.weeks] == new_members
    assert (board.members, board.bound, board.totals.new_binds) == (4, 3, 3)


def test_binding_rates_by_home_store_and_by_clerk(runtime, session):
    _seed(runtime.sessions)

    board = programme_dashboard(session, AT, TAIPEI)

    stores = {row.label: (row.members, row.bound) for row in board.stores}
    assert stores == {"台北信義店": (2, 1), "高雄巨蛋店": (1, 1), "": (1, 1)}  # m4 (erased) is not counted
    clerks = {row.label: (row.members, row.bound, row.rate) for row in board.clerks}
    assert clerks == {"王小美": (2, 1, 0.5), "張小明": (1, 1, 1.0)}
    assert [row.detail for row in board.clerks] == ["C001・台北信義店", "C101・高雄巨蛋店"]


def test_active_members_and_weekly_activity(runtime, session):
    _seed(runtime.sessions)

    board = programme_dashboard(session, AT, TAIPEI)

    assert (board.active, board.active_since) == (1, date(2026, 10, 27))
    assert board.active_share == 0.25
    this, last = board.weeks[11], board.weeks[10]
    assert (this.coupons_issued, this.coupons_redeemed, last.coupons_issued) == (1, 1, 1)
    assert board.totals.coupons_issued == 2  # the one from August is before the 12 weeks
    assert (this.checkins, board.weeks[week("2026-10-13")].checkins, board.totals.checkins) == (1, 2, 3)
    assert (this.stamps_added, board.weeks[week("2026-11-03")].stamps_added, this.cards_filled) == (3, 2, 1)
    assert (this.game_plays, board.weeks[week("2026-11-04")].missions_completed) == (1, 1)
    assert sum(row.missions_completed for row in board.weeks) == 1


def test_an_empty_programme(runtime, session):
    board = programme_dashboard(session, AT, TAIPEI)
    assert [row.members for row in board.weeks] == [0] * 12
    assert (board.members, board.active, board.active_share, board.stores, board.clerks) == (0, 0, None, [], [])
    assert board.weeks[0].starts_on == date(2026, 9, 7) and AT - timedelta(weeks=11) > local("2026-09-07")
