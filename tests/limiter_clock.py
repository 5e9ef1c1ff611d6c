"""A clock for the memory rate limiter, so a test can say when each hit happens (the `limiter_clock` fixture).

The `limits` library reads `time.time()` in its memory storage; the fixture swaps that module's `time` for this
clock, and only that module's, so nothing else in the process sees a different time.
"""

from __future__ import annotations

import time
from datetime import datetime


class LimiterClock:
    def __init__(self) -> None:
        self.at = time.time()

    def time(self) -> float:
        return self.at

    def set(self, at: datetime) -> None:
        """Hits from now on happen at `at` (timezone-aware)."""
        self.at = at.timestamp()
