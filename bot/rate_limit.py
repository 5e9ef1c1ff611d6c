"""The rate limiter: the `limits` library's moving window (a sliding window counter for approximate rules), in
Redis when REDIS_URL is set and in memory otherwise.

With Redis every web and worker process shares the counts; in memory each process counts on its own (fine for
development and tests). Key parts are replaced by an HMAC under the app's secret key before they reach the storage,
so Redis never holds a phone number, LINE user id or API key. A storage that cannot be reached lets the hit through
and logs an error: a Redis outage must not close the join and bind pages.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter, SlidingWindowCounterRateLimiter
from limits.util import WindowStats

from bot.services.rate_limits import Rule
from bot.settings import Settings

log = logging.getLogger(__name__)

NAMESPACE = "omo"


class LimitsRateLimiter:
    """`bot.services.rate_limits.RateLimiter` on a `limits` storage (memory://, redis://...)."""

    def __init__(self, storage_uri: str, *, secret_key: str) -> None:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri.split(':')[0]} is not a synchronous rate limit storage")
        self.storage = storage
        self._exact: RateLimiter = MovingWindowRateLimiter(self.storage)
        self._approximate: RateLimiter = SlidingWindowCounterRateLimiter(self.storage)
        self._secret = secret_key.encode()

    @classmethod
    def from_settings(cls, settings: Settings) -> LimitsRateLimiter:
        """Redis when REDIS_URL is set (shared by every process); otherwise each process counts on its own."""
        if not settings.redis_url and settings.app_env == "production":
            log.warning("REDIS_URL is not set: rate limits are counted per process, not across the deployment")
        return cls(settings.redis_url or "memory://", secret_key=settings.secret_key)

    def _strategy(self, rule: Rule) -> RateLimiter:
        return self._approximate if rule.approximate else self._exact

    def storage_key(self, *key_parts: str) -> str:
        """What stands for a key in the storage: an HMAC-SHA256 of its parts, never the parts themselves."""
        joined = "\x1f".join(key_parts).encode()
        return hmac.new(self._secret, joined, hashlib.sha256).hexdigest()

    def hit(self, rule: Rule, *key_parts: str) -> bool:
        try:
            return self._strategy(rule).hit(_item(rule), self.storage_key(*key_parts))
        except Exception:
            log.exception(
                "rate limit %s not checked: the storage failed (fail closed: %s)", rule.name, rule.fail_closed
            )
            return not rule.fail_closed

    def test(self, rule: Rule, *key_parts: str) -> bool:
        try:
            return self._strategy(rule).test(_item(rule), self.storage_key(*key_parts))
        except Exception:
            log.exception(
                "rate limit %s not checked: the storage failed (fail closed: %s)", rule.name, rule.fail_closed
            )
            return not rule.fail_closed

    def clear(self, rule: Rule, *key_parts: str) -> None:
        self._strategy(rule).clear(_item(rule), self.storage_key(*key_parts))

    def remaining(self, rule: Rule, *key_parts: str) -> int:
        return self._window(rule, key_parts).remaining

    def retry_after(self, rule: Rule, *key_parts: str) -> int:
        stats = self._window(rule, key_parts)
        if stats.remaining > 0:
            return 0
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _window(self, rule: Rule, key_parts: tuple[str, ...]) -> WindowStats:
        try:
            return self._strategy(rule).get_window_stats(_item(rule), self.storage_key(*key_parts))
        except Exception:
            log.exception("rate limit %s not read: the storage failed", rule.name)
            return WindowStats(time.time(), rule.amount)


def _item(rule: Rule) -> RateLimitItem:
    # The rule's name is the namespace, so two rules never share a count for the same key.
    return RateLimitItemPerSecond(rule.amount, rule.per, namespace=f"{NAMESPACE}:{rule.name}")
