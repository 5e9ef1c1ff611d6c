"""Phone numbers never reach the logs."""

from __future__ import annotations

import logging

import pytest

from bot.log_redaction import PhoneRedactingFilter, redact_phones


@pytest.mark.parametrize("phone", ["0912-345-678", "0912 345 678", "0912345678", "+886912345678", "+886 912 345 678"])
def test_phone_numbers_in_any_format_are_masked(phone):
    assert redact_phones(f"OTP sent to {phone} ok") == "OTP sent to ***678 ok"


def test_other_numbers_are_left_alone():
    text = "webhook event 42 took 17 ms; member M00001234; order 2026-11-24"
    assert redact_phones(text) == text


def test_the_filter_masks_arguments_of_a_log_record():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "code for %s is %s", ("0912-345-678", "123456"), None)

    PhoneRedactingFilter().filter(record)

    assert record.getMessage() == "code for ***678 is 123456"
