"""The LINE client's multicast pacing: a caller waits its turn under the rule instead of being refused by LINE."""

from __future__ import annotations

from bot.pacing import Pacer
from bot.services.rate_limits import Rule


class _Window:
    """A limiter allowing `amount` hits until the (fake) clock passes the window."""

    def __init__(self, amount: int) -> None:
        self.amount, self.hits, self.now = amount, [], 0.0

    def hit(self, rule: Rule, *key_parts: str) -> bool:
        recent = [t for t in self.hits if t > self.now - rule.per]
        if len(recent) >= rule.amount:
            return False
        self.hits.append(self.now)
        return True


def test_callers_over_the_rate_wait_until_the_window_has_room():
    limiter = _Window(3)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        limiter.now += seconds

    pacer = Pacer(limiter, Rule("line-multicast", 3, 1), "channel", sleep=sleep)  # type: ignore[arg-type]
    for _ in range(7):
        pacer.wait()

    assert len(limiter.hits) == 7
    # 7 calls at 3 a second: the last one cannot go before two full seconds have passed.
    assert limiter.hits[-1] >= 2.0 and sum(slept) >= 2.0
    assert all(later >= earlier for earlier, later in zip(limiter.hits, limiter.hits[1:], strict=False))
