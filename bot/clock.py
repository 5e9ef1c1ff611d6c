"""The program's one clock: every entry point asks it for "now" once, and everything below takes that moment."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    """The real time, timezone-aware (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that says what it is told (tests, replays); `advance` moves it on."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self.at += timedelta(**delta)
        return self.at
