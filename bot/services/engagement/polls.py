"""One-question polls in the chat: a poll mission's question with an option button each; one answer per member and
period (a unique key), which completes the mission."""

from __future__ import annotations

import enum
from datetime import datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.engagement.missions import local_day, period_of, record_progress
from models import Member, Mission, PollAnswer


class Answer(enum.Enum):
    RECORDED = "recorded"
    ALREADY_ANSWERED = "already_answered"
    CLOSED = "closed"
    BAD_OPTION = "bad_option"


def answer_of(session: Session, mission: Mission, member_id: int, at: datetime, tz: tzinfo) -> PollAnswer | None:
    """The member's answer to the poll in the period that holds `at`."""
    start, _end = period_of(mission, local_day(at, tz))
    return session.scalars(
        select(PollAnswer).where(
            PollAnswer.mission_id == mission.id, PollAnswer.member_id == member_id, PollAnswer.period_start == start
        )
    ).one_or_none()


def answer_poll(session: Session, member: Member, mission_id: int, option: int, at: datetime, tz: tzinfo) -> Answer:
    """Record the member's answer (the index of an option) to a running poll mission, once per period: a second
    answer, even at the same moment, changes nothing. The answer completes the mission."""
    mission = session.get(Mission, mission_id)
    day = local_day(at, tz)
    if (
        mission is None
        or mission.kind != "poll"
        or not mission.is_active
        or not mission.starts_on <= day <= mission.ends_on
        or member.erased_at is not None
    ):
        return Answer.CLOSED
    if not 0 <= option < len(mission.poll_options or []):
        return Answer.BAD_OPTION
    start, _end = period_of(mission, day)
    try:
        with session.begin_nested():
            session.add(
                PollAnswer(mission_id=mission.id, member_id=member.id, period_start=start, option=option, created_at=at)
            )
            session.flush()
    except IntegrityError:
        return Answer.ALREADY_ANSWERED
    record_progress(session, member, "poll", 1, at=at, tz=tz, applies=lambda found: found.id == mission.id)
    return Answer.RECORDED
