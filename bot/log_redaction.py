"""Logging that never shows a phone number: a filter on every handler masks anything that looks like one."""

from __future__ import annotations

import logging
import re

# Taiwanese mobiles as people type them (0912-345-678, 0912 345 678) and any E.164 number (+886912345678).
PHONE_PATTERN = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s-]?)?\(?\d{2,4}\)?(?:[\s-]?\d{3,4}){2}(?!\w)")


def redact_phones(text: str) -> str:
    """Replace every phone-like run of digits with its last three digits behind stars."""
    return PHONE_PATTERN.sub(lambda match: "***" + re.sub(r"\D", "", match.group())[-3:], text)


class PhoneRedactingFilter(logging.Filter):
    """Rewrites a record's final message with phone numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_phones(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr in one format, with phone numbers masked on every handler."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, PhoneRedactingFilter) for f in handler.filters):
            handler.addFilter(PhoneRedactingFilter())
