"""Phone numbers never reach the logs."""

from __future__ import annotations

import logging

import pytest

from bot.log_redaction import RedactingFilter, redact, redact_phones


@pytest.mark.parametrize(
    "phone",
    ["0912-345-678", "0912 345 678", "0912345678", "+886912345678", "+886 912 345 678", "886912345678", "0912.345.678"],
)
def test_phone_numbers_in_any_format_are_masked(phone):
    assert redact_phones(f"OTP sent to {phone} ok") == "OTP sent to ***678 ok"


def test_other_numbers_are_left_alone():
    text = "webhook event 42 took 17 ms; member M00001234; at 2026-11-24T10:00:00+08:00; user U0123456789abcdef"
    assert redact(text) == text


@pytest.mark.parametrize("date", ["1990-03-14", "1990/3/14", "datetime.date(1990, 3, 14)"])
def test_calendar_dates_such_as_birthdays_are_masked(date):
    assert "1990" not in redact(f"birthday {date} given")


def test_the_filter_masks_arguments_and_the_exception_of_a_log_record():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "code for %s is %s", ("0912-345-678", "123456"), None)

    RedactingFilter().filter(record)

    assert record.getMessage() == "code for ***678 is 123456"


def test_the_filter_masks_the_formatted_exception():
    try:
        raise RuntimeError("no member with phone +886912345678")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    RedactingFilter().filter(record)

    assert "***678" in (record.exc_text or "") and "912345678" not in logging.Formatter().format(record)
