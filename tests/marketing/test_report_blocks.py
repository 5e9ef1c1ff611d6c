"""A campaign report's "blocked since": every recipient with an unfollow in the report's window, from the LINE
friendship history (one who blocked and came back still counts; one who blocked twice counts once; a block before
the start does not), by cohort. Follows and unfollows go through the webhook's own service functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.db import transaction
from bot.services.marketing import reports
from bot.services.membership import line_users
from models import Campaign, CampaignRecipient, LineFriendshipEvent, LineUser
from tests.campaign_helpers import consenting_members, make_campaign

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _campaign(sessions, cohorts: dict[str, list[tuple[int, str]]]) -> Campaign:
    campaign_id = make_campaign(sessions, START - HOUR)
    with transaction(sessions) as session:
        for cohort, members in cohorts.items():
            for member_id, _ in members:
                session.add(
                    CampaignRecipient(campaign_id=campaign_id, member_id=member_id, cohort=cohort, created_at=START)
                )
        session.execute(update(Campaign).where(Campaign.id == campaign_id).values(status="started", started_at=START))
    with transaction(sessions) as session:
        found = session.get(Campaign, campaign_id)
        session.expunge(found)
        return found


def _events(sessions, *steps: tuple[str, str, datetime]) -> None:
    """Each (LINE user id, "follow" | "unfollow", when) in its own transaction, as the webhook stores them."""
    for user_id, kind, at in steps:
        with transaction(sessions) as session:
            if kind == "follow":
                line_users.record_follow(session, user_id, at=at)
            else:
                line_users.record_unfollow(session, user_id, at=at)


def _blocked(session, campaign: Campaign, window_days: int = reports.WINDOW_DEFAULT) -> dict[str, int]:
    report = reports.campaign_report(session, campaign, window_days)
    assert report is not None
    return {row.cohort: row.blocked for row in report.cohorts}


def _total_blocked(session, campaign: Campaign) -> int:
    report = reports.campaign_report(session, campaign)
    assert report is not None
    return report.total.blocked


def test_a_block_undone_after_the_start_is_still_counted_once(runtime, session):
    people = consenting_members(runtime.sessions, 4)
    campaign = _campaign(runtime.sessions, {"A": people[:2], "holdout": people[2:]})
    _events(runtime.sessions, (people[0][1], "unfollow", START + HOUR), (people[0][1], "follow", START + 2 * HOUR))

    assert session.scalar(select(LineUser.is_blocked).where(LineUser.line_user_id == people[0][1])) is False
    assert _blocked(session, campaign) == {"A": 1, "B": 0, "holdout": 0, "capped": 0}


def test_two_blocks_after_the_start_count_once(runtime, session):
    people = consenting_members(runtime.sessions, 3)
    campaign = _campaign(runtime.sessions, {"A": people[:1], "B": people[1:2], "holdout": people[2:]})
    user = people[1][1]
    _events(
        runtime.sessions,
        (user, "unfollow", START + HOUR),
        (user, "follow", START + DAY),
        (user, "unfollow", START + 2 * DAY),
    )

    assert _blocked(session, campaign) == {"A": 0, "B": 1, "holdout": 0, "capped": 0}
    assert _total_blocked(session, campaign) == 1


def test_blocks_before_the_start_or_after_the_window_are_not_counted(runtime, session):
    people = consenting_members(runtime.sessions, 5)
    campaign = _campaign(runtime.sessions, {"A": people[:3], "holdout": people[3:]})
    _events(
        runtime.sessions,
        # Blocked the day before and still blocked.
        (people[0][1], "unfollow", START - DAY),
        # Blocked before the start, came back after it.
        (people[1][1], "unfollow", START - HOUR),
        (people[1][1], "follow", START + HOUR),
        # Blocked at the very instant the campaign started: counted.
        (people[2][1], "unfollow", START),
        # A holdout member blocked on the window's last day, another the first instant after a 3-day window.
        (people[3][1], "unfollow", START + 3 * DAY - timedelta(seconds=1)),
        (people[4][1], "unfollow", START + 3 * DAY),
    )

    assert _blocked(session, campaign, 3) == {"A": 1, "B": 0, "holdout": 1, "capped": 0}
    assert _blocked(session, campaign, 14) == {"A": 1, "B": 0, "holdout": 2, "capped": 0}


def test_follows_and_unfollows_are_appended_to_the_history_in_the_same_transaction(runtime, session):
    user = "U" + "f" * 32
    _events(
        runtime.sessions,
        (user, "follow", START),
        (user, "unfollow", START + HOUR),
        (user, "follow", START + DAY),
    )
    # A transaction that fails after the unfollow leaves neither the state nor the history changed.
    try:
        with transaction(runtime.sessions) as failing:
            line_users.record_unfollow(failing, user, at=START + 2 * DAY)
            raise RuntimeError("the rest of the event's handling failed")
    except RuntimeError:
        pass

    line_user = session.scalars(select(LineUser).where(LineUser.line_user_id == user)).one()
    assert line_user.is_blocked is False
    history = session.execute(
        select(LineFriendshipEvent.kind, LineFriendshipEvent.at)
        .where(LineFriendshipEvent.line_user_id == line_user.id)
        .order_by(LineFriendshipEvent.id)
    ).all()
    assert [tuple(row) for row in history] == [("follow", START), ("unfollow", START + HOUR), ("follow", START + DAY)]
