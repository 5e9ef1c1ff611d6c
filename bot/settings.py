"""Configuration read from the environment, checked once at start-up."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.services.rate_limits import LINE_MULTICAST_RATE, POS_PER_KEY, Rule

LINE_DEFAULT_API_BASE_URL = "https://api.line.me"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_CHANNEL_SECRET = "dev-channel-secret-not-for-production"
DEV_CHANNEL_ACCESS_TOKEN = "dev-channel-access-token"
DEV_SECRET_KEY = "dev-secret-key-not-for-production"

# Variables a production process cannot start without.
REQUIRED_IN_PRODUCTION = (
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "SECRET_KEY",
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
)
SMS_BACKENDS = ("dev", "http")
BRAND_COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
# APP_ENV=test without a channel secret or a secret key runs the local LINE platform with the public development
# secrets above: only the test suite (tests/conftest.py sets this to 1) may start so.
TEST_RUNNER_FLAG = "OMO_TESTING"


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message names the variable."""


def default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'instance' / 'omo.sqlite3'}"


def default_huey_sqlite_path() -> str:
    return str(PROJECT_ROOT / "instance" / "huey.sqlite3")


def normalise_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs (as hosting platforms give them) at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    app_env: str = "production"
    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_api_base_url: str = LINE_DEFAULT_API_BASE_URL
    # The official account's basic id ("@123abcde"): invite links open its chat with the invite code typed in.
    line_basic_id: str = ""
    database_url: str = field(default_factory=default_database_url)
    redis_url: str | None = None
    huey_sqlite_path: str = field(default_factory=default_huey_sqlite_path)
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = ""
    timezone: str = "Asia/Taipei"
    brand_name: str = "OMO 烘焙坊"
    brand_color: str = "#06C755"
    brand_logo_path: str | None = None
    dev_line_enabled: bool = False
    huey_immediate: bool = False
    sms_backend: str = "dev"
    sms_http_url: str = ""
    sms_http_token: str = ""
    welcome_points: int = 0
    pos_rate_limit: Rule = POS_PER_KEY
    trusted_proxy_hops: int = 0
    staff_session_hours: int = 12
    staff_idle_minutes: int = 120
    # How long a referred member's purchases count for the clerk who brought them (days from the attribution).
    referral_credit_days: int = 180
    # Marketing pushes (campaigns) a member gets at most in 7 days; more are held back and recorded as capped.
    marketing_pushes_per_week: int = 2
    # A campaign reaching more members than this waits for a second marketer's approval.
    campaign_approval_above: int = 5000
    # Delivery (issue 10): how long a message is retried while LINE fails before it is given up (and alerted on),
    # whether a reply whose token can no longer be used may go out as a (billed) push, the LINE client's timeout and
    # its circuit breaker (consecutive transient failures before it opens; seconds before it probes LINE again).
    delivery_give_up_after_seconds: int = 24 * 3600
    reply_fallback_to_push: bool = True
    line_timeout_seconds: float = 10.0
    line_breaker_failures: int = 5
    line_breaker_cool_down_seconds: int = 30
    # Campaign multicasts go out at most this fast (LINE allows 200 a second per channel; a little under it so the
    # network's jitter never puts 201 in one of LINE's seconds). LINE_MULTICAST_RATE, e.g. "190/second".
    line_multicast_rate: Rule = LINE_MULTICAST_RATE

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings from the environment; a production start with a missing secret fails here."""
        env = dict(os.environ if environ is None else environ)
        app_env = env.get("APP_ENV", "production").strip() or "production"
        if app_env not in ("production", "development", "test"):
            raise ConfigurationError(f"APP_ENV must be production, development or test, not {app_env!r}")
        if app_env == "production":
            missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
            if missing:
                raise ConfigurationError(
                    "Missing required environment variable(s) for production: " + ", ".join(missing)
                )
        if app_env == "test" and "1" not in (env.get(TEST_RUNNER_FLAG), os.environ.get(TEST_RUNNER_FLAG)):
            missing = [name for name in ("LINE_CHANNEL_SECRET", "SECRET_KEY") if not env.get(name)]
            if missing:
                raise ConfigurationError(
                    "APP_ENV=test outside the test suite needs "
                    + ", ".join(missing)
                    + f" (without them it would use the public development secrets; the test suite sets"
                    f" {TEST_RUNNER_FLAG}=1); run the app locally with APP_ENV=development"
                )
        public_base_url = env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
        # With no LINE channel configured outside production, the local LINE platform stands in for LINE.
        dev_line_enabled = app_env != "production" and not env.get("LINE_CHANNEL_SECRET")
        default_api_base = f"{public_base_url}/dev/line" if dev_line_enabled else LINE_DEFAULT_API_BASE_URL
        timezone = env.get("TIMEZONE", "Asia/Taipei")
        try:
            ZoneInfo(timezone)
        except (KeyError, ValueError) as exc:
            raise ConfigurationError(f"TIMEZONE {timezone!r} is not a known time zone") from exc
        sms_backend = env.get("SMS_BACKEND") or ("http" if app_env == "production" else "dev")
        if sms_backend not in SMS_BACKENDS:
            raise ConfigurationError(f"SMS_BACKEND must be dev or http, not {sms_backend!r}")
        if app_env == "production" and sms_backend == "dev":
            raise ConfigurationError("SMS_BACKEND=dev only logs the codes; production needs SMS_BACKEND=http")
        try:
            welcome_points = int(env.get("WELCOME_POINTS") or 0)
        except ValueError as exc:
            raise ConfigurationError("WELCOME_POINTS must be a whole number of points") from exc
        if welcome_points < 0:
            raise ConfigurationError("WELCOME_POINTS cannot be negative")
        pos_rate_limit = POS_PER_KEY
        if env.get("POS_RATE_LIMIT"):
            try:
                pos_rate_limit = Rule.parse(POS_PER_KEY.name, env["POS_RATE_LIMIT"], approximate=True)
            except ValueError as exc:
                raise ConfigurationError("POS_RATE_LIMIT must be a rate like 600/minute") from exc
        hops = env.get("TRUSTED_PROXY_HOPS") or "0"
        if not hops.isascii() or not hops.isdigit():
            raise ConfigurationError("TRUSTED_PROXY_HOPS must be how many proxies stand in front of the app (0: none)")
        staff_session_hours = _whole_number(env, "STAFF_SESSION_HOURS", 12)
        staff_idle_minutes = _whole_number(env, "STAFF_IDLE_MINUTES", 120)
        referral_credit_days = _whole_number(env, "REFERRAL_CREDIT_DAYS", 180)
        delivery_give_up_after = _whole_number(env, "DELIVERY_GIVE_UP_AFTER", 24 * 3600)
        fallback = (env.get("REPLY_FALLBACK_TO_PUSH") or "1").strip().lower()
        if fallback not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ConfigurationError(f"REPLY_FALLBACK_TO_PUSH must be 1 or 0, not {fallback!r}")
        try:
            line_timeout = float(env.get("LINE_TIMEOUT") or 10)
        except ValueError as exc:
            raise ConfigurationError("LINE_TIMEOUT must be a number of seconds") from exc
        if not 0 < line_timeout <= 120:
            raise ConfigurationError("LINE_TIMEOUT must be between 0 and 120 seconds")
        brand_color = (env.get("BRAND_COLOR") or "#06C755").strip()
        if not BRAND_COLOR_PATTERN.match(brand_color):
            raise ConfigurationError(f"BRAND_COLOR must be a colour like #06C755, not {brand_color!r}")
        brand_logo_path = env.get("BRAND_LOGO_PATH") or None
        if brand_logo_path is not None and not Path(brand_logo_path).is_file():
            raise ConfigurationError(f"BRAND_LOGO_PATH {brand_logo_path!r} is not a file")
        queue = queue_settings(env)
        return cls(
            app_env=app_env,
            line_channel_secret=env.get("LINE_CHANNEL_SECRET") or DEV_CHANNEL_SECRET,
            line_channel_access_token=env.get("LINE_CHANNEL_ACCESS_TOKEN") or DEV_CHANNEL_ACCESS_TOKEN,
            line_api_base_url=(env.get("LINE_API_BASE_URL") or default_api_base).rstrip("/"),
            line_basic_id=(env.get("LINE_BASIC_ID") or ("@000devline" if dev_line_enabled else "")).strip(),
            database_url=normalise_database_url(env.get("DATABASE_URL") or default_database_url()),
            redis_url=queue.redis_url,
            huey_sqlite_path=queue.huey_sqlite_path,
            public_base_url=public_base_url,
            secret_key=env.get("SECRET_KEY") or DEV_SECRET_KEY,
            timezone=timezone,
            brand_name=env.get("BRAND_NAME", "OMO 烘焙坊"),
            brand_color=brand_color.upper(),
            brand_logo_path=brand_logo_path,
            dev_line_enabled=dev_line_enabled,
            huey_immediate=env.get("HUEY_IMMEDIATE", "") == "1",
            sms_backend=sms_backend,
            sms_http_url=env.get("SMS_HTTP_URL", ""),
            sms_http_token=env.get("SMS_HTTP_TOKEN", ""),
            welcome_points=welcome_points,
            pos_rate_limit=pos_rate_limit,
            trusted_proxy_hops=int(hops),
            staff_session_hours=staff_session_hours,
            staff_idle_minutes=staff_idle_minutes,
            referral_credit_days=referral_credit_days,
            marketing_pushes_per_week=_whole_number(env, "MARKETING_PUSHES_PER_WEEK", 2),
            campaign_approval_above=_whole_number(env, "CAMPAIGN_APPROVAL_ABOVE", 5000),
            delivery_give_up_after_seconds=delivery_give_up_after,
            reply_fallback_to_push=fallback in ("1", "true", "yes", "on"),
            line_timeout_seconds=line_timeout,
            line_breaker_failures=_whole_number(env, "LINE_BREAKER_FAILURES", 5),
            line_breaker_cool_down_seconds=_whole_number(env, "LINE_BREAKER_COOL_DOWN", 30),
            line_multicast_rate=_rate(env, "LINE_MULTICAST_RATE", LINE_MULTICAST_RATE),
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def uses_real_line(self) -> bool:
        return self.line_api_base_url == LINE_DEFAULT_API_BASE_URL


def _rate(env: Mapping[str, str], name: str, default: Rule) -> Rule:
    """A rate like "190/second" from the environment, or the default when unset."""
    if not env.get(name):
        return default
    try:
        return Rule.parse(default.name, env[name])
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a rate like 190/second") from exc


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number from the environment, or the default when unset."""
    text = (env.get(name) or str(default)).strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{name} must be a positive whole number, not {text!r}")
    return int(text)


def queue_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Only the task queue's settings (REDIS_URL, HUEY_SQLITE_PATH), read as from_env reads them, the rest left at
    their defaults. bot.queue builds its queue when imported, by the worker and by tests too, which need not have the
    app's secrets: from_env's checks belong where the app starts."""
    env = os.environ if environ is None else environ
    return Settings(
        redis_url=env.get("REDIS_URL") or None,
        huey_sqlite_path=env.get("HUEY_SQLITE_PATH") or default_huey_sqlite_path(),
    )
