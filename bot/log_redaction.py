"""Logging that shows no personal data and no credential: one filter masks phone numbers, birthdays, bearer tokens,
LINE secrets, webhook signatures, signed link tokens and URL query values in every part of a record (the message,
its arguments, the formatted exception and stack), and one formatter writes a JSON object a line (or a readable line
in development) with the request id of the HTTP request being served.

The web app (`configure_logging` in `create_app`), the worker (`omo worker`) and gunicorn's own error and access logs
(`gunicorn.conf.py`) all log through these two."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

MASK = "***"

# The id of the HTTP request being served (bot.web.request_ids sets it), added to every record as `request_id`.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Secrets known by value (LINE channel secret and access token, SECRET_KEY, the SMS gateway token, the database
# password): registered at start-up, replaced wherever they appear.
_known_secrets: set[str] = set()

# Name-value pairs whose value is personal or a credential: `phone=…`, `'birthday': '…'`, `Authorization: Bearer …`,
# `X-Line-Signature: …`, `access_token=…`, `t=…` (a signed link's token in a form or query).
_SENSITIVE_PAIR = re.compile(
    r"""(?ix)
    (?<![\w-])
    ( [\w-]*(?:phone|mobile|birthday|birth_?date|date_of_birth|password|passwd|secret|token|signature|api_?key
              |authorization|cookie)[\w-]*
    | dob | t | lt | nonce | key )
    (["']?\s*[:=]\s*["']?)
    (?:bearer\s+|basic\s+)?
    (?![?:%(])[^\s"',;&)}\]]+
    """
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# Signed barcode, coupon and carrier image paths: /img/<token>.png, /img/coupon/<token>.png, /img/carrier/<token>.png.
_IMAGE_PATH = re.compile(r"(/img/(?:coupon/|carrier/)?)[^/\s?\"'#]+?(?=\.png\b|[\s?\"'#]|$)")
# Every value of a URL's query string: ?t=…, &t=…, ?linkToken=…
_QUERY_VALUE = re.compile(r"([?&][^=&?\s\"'#<>]+=)[^&\s\"'#<>]+")
# Long runs of mixed-case letters and digits: access tokens, API keys, signatures, signed link payloads.
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9_+/=-])[A-Za-z0-9_+/-]{40,}={0,2}")
# Taiwanese mobiles in any common form (0912-345-678, 0912.345.678, +886 912 345 678, +886-9…, 8869…, (+886)9…)
# and any other E.164-like or 8-12 digit phone-looking run.
_TW_MOBILE = re.compile(r"(?<![\w+])(?:\(?\+?886\)?[\s.-]?0?|0)9\d{2}[\s.-]?\d{3}[\s.-]?\d{3}(?!\w)")
PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s-]?)?\(?\d{2,4}\)?(?:[\s-]?\d{3,4}){2}(?!\w)")
# Calendar dates (a birthday as a parameter or in an exception's text): 1990-03-14, 1990/3/14, date(1990, 3, 14),
# 19900314 in a parameter list. Timestamps (a date followed by a time) are kept.
_DATE = re.compile(
    r"(?<![\w-])(?:19|20)\d{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?![\w-])(?![T ]\d{1,2}:)"
)
_DATE_REPR = re.compile(r"\bdate\(\s*\d{4},\s*\d{1,2},\s*\d{1,2}\s*\)")
# An e-invoice mobile barcode carrier (/ABC1234: "/" and 7 of 0-9 A-Z . + -), in a database error's parameters or
# anywhere else, on its own and not inside a path or a token (a full stop may end the sentence after it).
_CARRIER = re.compile(r"(?<![A-Za-z0-9_./+-])/[0-9A-Z.+\-]{7}(?![A-Za-z0-9_+-]|\.[A-Za-z0-9_.+-])")


def _keep_last_three_digits(match: re.Match[str]) -> str:
    return MASK + re.sub(r"\D", "", match.group())[-3:]


def _mixed(run: str) -> bool:
    return any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run)


def _mask_if_mixed(match: re.Match[str]) -> str:
    """A token mixes digits and both cases; in a path (slashes), only its token-like segments are masked."""
    run = match.group()
    if not _mixed(run):
        return run
    segments = run.split("/")
    looks_like_a_path = "+" not in run and not run.endswith("=") and all(len(segment) < 40 for segment in segments)
    if len(segments) > 2 and looks_like_a_path:
        return "/".join(MASK if len(segment) >= 16 and _mixed(segment) else segment for segment in segments)
    return MASK


def redact_phones(text: str) -> str:
    """Replace every phone-like run of digits with its last three digits behind stars."""
    return PHONE_PATTERN.sub(_keep_last_three_digits, _TW_MOBILE.sub(_keep_last_three_digits, text))


_STEPS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_DATE_REPR, f"date({MASK})"),
    (_BEARER, rf"\1 {MASK}"),
    (_SENSITIVE_PAIR, rf"\1\2{MASK}"),
    (_IMAGE_PATH, rf"\1{MASK}"),
    (_QUERY_VALUE, rf"\1{MASK}"),
    (_LONG_TOKEN, _mask_if_mixed),
    (_CARRIER, f"/{MASK}"),
    (_DATE, "****-**-**"),
)


def redact(text: str) -> str:
    """`text` with every known secret, credential, link token, query value, phone number and date masked."""
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern, replacement in _STEPS:
        text = pattern.sub(replacement, text)
    return redact_phones(text)


def register_secrets(values: Iterable[str | None]) -> None:
    """Mask these values (secrets of 8 characters or more) wherever they appear in a log."""
    _known_secrets.update(value for value in values if value and len(value) >= 8)


def _settings_secrets(settings: Any) -> list[str | None]:
    names = ("line_channel_secret", "line_channel_access_token", "secret_key", "sms_http_token")
    values: list[str | None] = [getattr(settings, name, None) for name in names]
    with contextlib.suppress(ValueError):  # a URL urllib cannot read has no password to find
        values.append(urlsplit(getattr(settings, "database_url", "") or "").password)
    return values


class RedactingFilter(logging.Filter):
    """Masks a record's message (with its arguments), exception text and stack in place, and stamps the request id."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # Gunicorn's access log writes after the request: its id is the response's X-Request-Id atom.
            atoms = record.args if isinstance(record.args, dict) else {}
            setattr(record, "request_id", request_id_var.get() or atoms.get("{x-request-id}o"))  # noqa: B010
        if getattr(record, "_redacted", False):
            return True
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, "_redacted", True)  # noqa: B010
        return True


# The filter's former name (phones were all it masked).
PhoneRedactingFilter = RedactingFilter


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    parts = [part for part in (record.exc_text, record.stack_info) if part]
    return redact("\n".join(parts)) if parts else None


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, exc (every text masked again)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "exc": _exception_text(self, record),
        }
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The readable line for development, masked like the JSON one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            setattr(record, "request_id", request_id_var.get())  # noqa: B010
        return redact(super().format(record))


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is when a record is emitted (test runners and gunicorn swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def make_formatter(app_env: str | None) -> logging.Formatter:
    """JSON everywhere but development, which gets readable lines."""
    return TextFormatter() if app_env == "development" else JsonFormatter()


def configure_logging(settings: Any = None, level: int = logging.INFO) -> None:
    """Log to stdout through the masking filter and formatter; every other handler on the root logger gets the
    filter too. `settings` names the known secrets and the format (APP_ENV=development: readable lines)."""
    if settings is not None:
        register_secrets(_settings_secrets(settings))
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(handler.formatter, JsonFormatter | TextFormatter) for handler in root.handlers):
        ours = StdoutHandler()
        ours.setFormatter(make_formatter(getattr(settings, "app_env", None)))
        root.addHandler(ours)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
