"""The rate limiter: `limits`' moving window behind the project's own small interface, keys hashed, Redis shared."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis

from bot.rate_limit import LimitsRateLimiter
from bot.services.rate_limits import OTP_PER_PHONE, POS_PER_KEY, Rule
from bot.settings import ConfigurationError, Settings

REDIS_URL = "redis://127.0.0.1:6379/9"
PHONE = "+886912345678"
THREE_A_MINUTE = Rule("test-three", 3, 60)


def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return client


@pytest.fixture
def limiter() -> LimitsRateLimiter:
    return LimitsRateLimiter("memory://", secret_key="test-secret")


def test_a_rule_allows_its_amount_then_refuses(limiter):
    assert [limiter.hit(THREE_A_MINUTE, "U1") for _ in range(4)] == [True, True, True, False]
    assert not limiter.test(THREE_A_MINUTE, "U1")
    assert limiter.remaining(THREE_A_MINUTE, "U1") == 0
    assert 0 < limiter.retry_after(THREE_A_MINUTE, "U1") <= 60


def test_testing_counts_nothing(limiter):
    for _ in range(10):
        assert limiter.test(THREE_A_MINUTE, "U1")

    assert limiter.remaining(THREE_A_MINUTE, "U1") == 3
    assert limiter.retry_after(THREE_A_MINUTE, "U1") == 0


def test_each_key_and_each_rule_is_counted_apart(limiter):
    for _ in range(3):
        limiter.hit(THREE_A_MINUTE, "U1")

    assert limiter.hit(THREE_A_MINUTE, "U2")
    assert limiter.hit(THREE_A_MINUTE, "U1", "other part")
    assert limiter.hit(Rule("test-other", 3, 60), "U1")


def test_clearing_forgets_the_hits(limiter):
    for _ in range(3):
        limiter.hit(THREE_A_MINUTE, "U1")

    limiter.clear(THREE_A_MINUTE, "U1")

    assert limiter.remaining(THREE_A_MINUTE, "U1") == 3


def test_the_window_moves(limiter, limiter_clock):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for second in range(3):
        limiter_clock.set(start + timedelta(seconds=second))
        limiter.hit(THREE_A_MINUTE, "U1")

    limiter_clock.set(start + timedelta(seconds=59))
    assert not limiter.hit(THREE_A_MINUTE, "U1")
    limiter_clock.set(start + timedelta(seconds=60, microseconds=1))
    assert limiter.hit(THREE_A_MINUTE, "U1"), "the first hit has left the window"
    assert not limiter.hit(THREE_A_MINUTE, "U1"), "the second has not"


def test_no_key_part_reaches_the_storage_in_clear(limiter):
    limiter.hit(OTP_PER_PHONE, PHONE)
    limiter.hit(THREE_A_MINUTE, "Uabcdef0123456789", "203.0.113.7")

    keys = list(limiter.storage.events)  # type: ignore[attr-defined]
    assert len(keys) == 2
    for key in keys:
        for secret in ("912345678", "Uabcdef", "203.0.113"):
            assert secret not in key
    assert any(limiter.storage_key(PHONE) in key and "otp-phone" in key for key in keys)


def test_the_hash_depends_on_the_secret_key():
    one = LimitsRateLimiter("memory://", secret_key="one")
    other = LimitsRateLimiter("memory://", secret_key="other")

    assert one.storage_key(PHONE) != other.storage_key(PHONE)
    assert one.storage_key("a", "b") != one.storage_key("ab")


def test_without_redis_url_the_limiter_counts_in_memory():
    limiter = LimitsRateLimiter.from_settings(Settings.from_env({"APP_ENV": "test"}))

    assert type(limiter.storage).__name__ == "MemoryStorage"


def test_two_processes_share_the_count_in_redis():
    client = redis_or_skip()
    secret = f"test-{uuid.uuid4()}"  # a key no other run shares
    web = LimitsRateLimiter(REDIS_URL, secret_key=secret)
    worker = LimitsRateLimiter(REDIS_URL, secret_key=secret)
    try:
        assert [web.hit(THREE_A_MINUTE, PHONE), worker.hit(THREE_A_MINUTE, PHONE)] == [True, True]
        assert web.hit(THREE_A_MINUTE, PHONE)

        assert not worker.hit(THREE_A_MINUTE, PHONE)
        assert not web.test(THREE_A_MINUTE, PHONE)
        assert worker.remaining(THREE_A_MINUTE, "+886987654321") == 3
        stored = [key.decode() for key in client.scan_iter(match="*test-three*")]
        assert stored and not any("912345678" in key for key in stored)
    finally:
        web.clear(THREE_A_MINUTE, PHONE)
        client.close()


def test_redis_url_from_settings_picks_redis():
    redis_or_skip().close()
    settings = Settings.from_env({"APP_ENV": "test", "REDIS_URL": REDIS_URL})

    limiter = LimitsRateLimiter.from_settings(settings)

    assert type(limiter.storage).__name__ == "RedisStorage"


def test_an_unreachable_storage_lets_hits_through_and_logs(caplog):
    limiter = LimitsRateLimiter("redis://127.0.0.1:1/0", secret_key="x")

    assert limiter.hit(THREE_A_MINUTE, "U1") and limiter.test(THREE_A_MINUTE, "U1")
    assert limiter.retry_after(THREE_A_MINUTE, "U1") == 0
    assert "storage failed" in caplog.text


def test_an_unreachable_storage_refuses_the_hits_that_guard_sms_and_bind_codes(caplog):
    from bot.services.rate_limits import BIND_CODE_WRONG, OTP_PER_LINE_USER, OTP_PER_PHONE

    limiter = LimitsRateLimiter("redis://127.0.0.1:1/0", secret_key="x")

    for rule in (OTP_PER_PHONE, OTP_PER_LINE_USER, BIND_CODE_WRONG):
        assert not limiter.hit(rule, "U1") and not limiter.test(rule, "U1")
    assert "storage failed" in caplog.text


@pytest.mark.parametrize(
    ("text", "amount", "per"),
    [("600/minute", 600, 60), ("600 per minute", 600, 60), ("10/10 minutes", 10, 600), ("5 / hour", 5, 3600)],
)
def test_a_rate_is_read_from_text(text, amount, per):
    assert Rule.parse("x", text) == Rule("x", amount, per)


@pytest.mark.parametrize("text", ["", "600", "minute", "0/minute", "10/fortnight", "-1/second", "5/0 minutes"])
def test_a_rate_that_makes_no_sense_is_refused(text):
    with pytest.raises(ValueError):
        Rule.parse("x", text)


def test_the_pos_rate_comes_from_pos_rate_limit():
    assert (
        Settings.from_env({"APP_ENV": "test"}).pos_rate_limit
        == POS_PER_KEY
        == Rule("pos-key", 600, 60, approximate=True)
    )
    assert Settings.from_env({"APP_ENV": "test", "POS_RATE_LIMIT": "20/second"}).pos_rate_limit == Rule(
        "pos-key", 20, 1, approximate=True
    )
    with pytest.raises(ConfigurationError, match="POS_RATE_LIMIT"):
        Settings.from_env({"APP_ENV": "test", "POS_RATE_LIMIT": "lots"})


def test_trusted_proxy_hops_must_be_a_count():
    assert Settings.from_env({"APP_ENV": "test", "TRUSTED_PROXY_HOPS": "1"}).trusted_proxy_hops == 1
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXY_HOPS"):
        Settings.from_env({"APP_ENV": "test", "TRUSTED_PROXY_HOPS": "yes"})


def test_an_approximate_rule_still_stops_a_flood_and_lets_the_next_window_through(limiter_clock):
    limiter = LimitsRateLimiter("memory://", secret_key="k")
    rule = Rule("flood", 10, 60, approximate=True)

    allowed = sum(limiter.hit(rule, "key") for _ in range(50))

    assert allowed == 10
    limiter_clock.set(datetime.fromtimestamp(limiter_clock.at, UTC) + timedelta(seconds=121))  # two windows on
    assert limiter.hit(rule, "key")
