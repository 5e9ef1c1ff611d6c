"""The member card's Code 128 image has the shape the chat card declares for it."""

from __future__ import annotations

import struct
import sys

from bot.barcode_images import code128_png
from bot.chat.barcode import CODE128_ASPECT_RATIO
from bot.services.barcode.codes import CODE_LENGTH, MEMBER_DIGITS


def test_every_member_code_draws_at_the_aspect_ratio_the_chat_card_declares():
    # A member's code is their id in MEMBER_DIGITS digits, then the minute's TOTP digits.
    members, totps = (1, 42, 70_015, 123_456_789, 2**31 - 1), ("00000000", "99999999", "31415926", "90715004")
    for code in (f"{member:0{MEMBER_DIGITS}d}{totp}" for member in members for totp in totps):
        assert len(code) == CODE_LENGTH
        width, height = struct.unpack(">II", code128_png(code)[16:24])  # the PNG's IHDR chunk
        assert f"{width}:{height}" == CODE128_ASPECT_RATIO


def test_the_queue_worker_composes_chat_answers_without_the_image_libraries():
    import subprocess

    script = (
        "import sys, bot.tasks; print(sorted(m for m in ('PIL', 'barcode', 'qrcode', 'bot.app') if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert found == "[]"
