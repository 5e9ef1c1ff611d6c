"""The evening check-in reminder: 「簽到提醒 開」 asks for it, 「簽到提醒 關」 stops it.

A member who asked, whose streak is 2 days or more and who has not checked in today, is told once that evening, at
the brand's reminder time (checkin.reminder.time in the YAML, 20:00 by default) or at the job's first run after it,
and never between 22:00 and 09:00 local time. One reminder per member and local day (a unique row).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.engagement.checkin_config import checkin_settings
from bot.services.engagement.checkins import local_day
from models import Checkin, CheckinReminder, CheckinReminderPreference, Member

QUIET_FROM = time(22, 0)
QUIET_UNTIL = time(9, 0)
MIN_STREAK = 2


def set_reminders(session: Session, member: Member, enabled: bool, at: datetime) -> None:
    """Turn the member's evening reminder on or off."""
    preference = session.get(CheckinReminderPreference, member.id)
    if preference is None:
        session.add(CheckinReminderPreference(member_id=member.id, enabled=enabled, created_at=at))
    else:
        preference.enabled = enabled
    session.flush()


def reminders_on(session: Session, member_id: int) -> bool:
    """Whether the member asked for the evening reminder."""
    preference = session.get(CheckinReminderPreference, member_id)
    return preference is not None and preference.enabled


def is_quiet(local: time) -> bool:
    """Between 22:00 and 09:00 local time nobody is reminded."""
    return local >= QUIET_FROM or local < QUIET_UNTIL


def remind_streaks_at_risk(session: Session, at: datetime, tz: tzinfo) -> int:
    """Record a reminder (CheckinStreakAtRisk) for each opted-in member whose streak ends unless they check in
    today; nothing before the reminder time or in the quiet hours. The number of members reminded."""
    settings = checkin_settings(session)
    local = at.astimezone(tz)
    hour, minute = (int(part) for part in settings.reminder_time.split(":"))
    if (
        not settings.checkins_enabled
        or not settings.reminders_enabled
        or is_quiet(local.time())
        or local.time() < time(hour, minute)
    ):
        return 0
    today = local_day(at, tz)
    yesterday = today - timedelta(days=1)
    checked_today = select(Checkin.member_id).where(Checkin.local_day == today)
    reminded_today = select(CheckinReminder.member_id).where(CheckinReminder.local_day == today)
    candidates = session.execute(
        select(Checkin.member_id, Checkin.streak)
        .join(CheckinReminderPreference, CheckinReminderPreference.member_id == Checkin.member_id)
        .join(Member, Member.id == Checkin.member_id)
        .where(
            CheckinReminderPreference.enabled.is_(True),
            Member.erased_at.is_(None),
            Checkin.local_day == yesterday,
            Checkin.streak >= MIN_STREAK,
            Checkin.member_id.not_in(checked_today),
            Checkin.member_id.not_in(reminded_today),
        )
        .order_by(Checkin.member_id)
    ).all()
    reminded = 0
    for member_id, streak in candidates:
        try:
            with session.begin_nested():
                session.add(CheckinReminder(member_id=member_id, local_day=today, streak=streak, created_at=at))
                session.flush()
        except IntegrityError:
            continue  # another run reminded them
        facts.record(session, facts.CheckinStreakAtRisk(member_id, streak, today))
        reminded += 1
    return reminded
