"""Pacing calls to LINE under its per-endpoint rate limits (multicast: 200 requests a second per channel).

A caller waits its turn instead of being refused: each call takes a hit in the shared rate limiter (Redis when
REDIS_URL is set, so every worker process shares the one budget; in memory otherwise, one budget a process) and, while
the window is full, sleeps a few milliseconds and asks again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from bot.services.rate_limits import RateLimiter, Rule

# How long a waiting caller sleeps between asks (a random share of it, so waiting threads do not ask in step).
POLL_SECONDS = 0.004


class Pacer:
    """Blocks `wait()` until one more call fits under `rule` (counted under `key`)."""

    def __init__(
        self,
        limiter: RateLimiter,
        rule: Rule,
        key: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limiter = limiter
        self.rule = rule
        self.key = key
        self._sleep = sleep
        self._random = random.Random()

    def wait(self) -> None:
        """Return once this call is counted within the rule."""
        while not self.limiter.hit(self.rule, self.key):
            self._sleep(POLL_SECONDS * (0.5 + self._random.random()))
