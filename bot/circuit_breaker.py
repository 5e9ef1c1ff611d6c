"""A circuit breaker for the LINE client: after a run of transient failures it stops calling LINE for a cool-down,
then lets one call through as a probe. Its state is per process (each worker process learns of an outage itself).

A small class rather than a library (pybreaker): its cool-down is read from a clock the tests can move, so a
15-minute outage is simulated without waiting, and only the failures the caller calls transient are counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitOpen(Exception):
    """The breaker is open: the call was not made."""


class CircuitBreaker:
    """closed -> (failures in a row) -> open -> (cool-down) -> half-open: one probe; success closes, failure opens."""

    def __init__(self, failures: int = 5, cool_down: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.cool_down = cool_down
        self.clock = clock
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> str:
        """closed, open or half-open."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self.clock() - self._opened_at >= self.cool_down else "open"

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go to LINE now (closed, or this call is the half-open probe)."""
        with self._lock:
            if self._opened_at is None:
                return
            if self._probing or self.clock() - self._opened_at < self.cool_down:
                raise CircuitOpen()
            self._probing = True

    def succeeded(self) -> None:
        """LINE answered (any answer that is not a transient failure)."""
        with self._lock:
            self._in_a_row, self._opened_at, self._probing = 0, None, False

    def failed(self) -> None:
        """A transient failure (5xx, 429, no connection, a timeout): a failed probe opens the breaker again."""
        with self._lock:
            self._in_a_row += 1
            if self._probing or self._in_a_row >= self.failures:
                self._opened_at = self.clock()
            self._probing = False

    def abandoned(self) -> None:
        """A call let through ended without an answer either way (e.g. an error of the caller's own)."""
        with self._lock:
            self._probing = False
