"""PNG images of a member code (Code 128 for POS scanners and a QR code for phone cameras) and of an e-invoice mobile
barcode carrier (Code 39, as the Ministry of Finance's platform prints it)."""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO

import barcode
import qrcode
from barcode.writer import ImageWriter
from qrcode.constants import ERROR_CORRECT_M

CODE128_OPTIONS = {
    "module_width": 0.5,
    "module_height": 18.0,
    "quiet_zone": 6.5,
    "write_text": False,
    "dpi": 200,
}


@lru_cache(maxsize=4096)
def code128_png(text: str) -> bytes:
    """A Code 128 barcode of `text` as PNG (black on white, with quiet zones)."""
    buffer = BytesIO()
    barcode.get("code128", text, writer=ImageWriter()).write(buffer, options=CODE128_OPTIONS)
    return buffer.getvalue()


# Code 39 with no check character (a carrier is read as its 8 characters); wide enough for a phone screen.
CODE39_OPTIONS = {
    "module_width": 0.4,
    "module_height": 15.0,
    "quiet_zone": 6.5,
    "write_text": False,
    "dpi": 200,
}


@lru_cache(maxsize=4096)
def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    buffer = BytesIO()
    qr.make_image().save(buffer)
    return buffer.getvalue()


@lru_cache(maxsize=256)
def carrier_barcode_png(carrier: str) -> bytes:
    """A Code 39 barcode (no check character) of an e-invoice mobile barcode carrier such as "/ABC1234", as PNG.

    The caller passes a valid carrier (bot.services.membership.carrier.is_carrier): "/" and 7 of 0-9 A-Z . + -,
    all in Code 39's own character set. A scanner must read it as standard Code 39, not Full ASCII."""
    buffer = BytesIO()
    barcode.Code39(carrier, writer=ImageWriter(), add_checksum=False).write(buffer, options=CODE39_OPTIONS)
    return buffer.getvalue()


RENDERERS = {"code128": code128_png, "qr": qr_png}
