"""The e-invoice mobile barcode carrier: "/" and exactly 7 of 0-9 A-Z . + -; what a shopper types is forgiven its
spaces, lower case and full width, anything else is refused and nothing is stored; logs never hold one."""

from __future__ import annotations

import io
import logging

import pytest
import zxingcpp
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from bot.barcode_images import carrier_barcode_png
from bot.db import transaction
from bot.log_redaction import RedactingFilter, redact
from bot.services.membership.carrier import carrier_of, is_carrier, normalise_carrier, remove_carrier, set_carrier
from bot.services.refusals import Reason, Refused
from models import Member
from tests.factories import make_member

ALLOWED = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.+-"
carriers = st.text(alphabet=ALLOWED, min_size=7, max_size=7).map(lambda tail: "/" + tail)


def _refused(text: str) -> bool:
    try:
        normalise_carrier(text)
    except Refused as refused:
        assert refused.reason == Reason.CARRIER_INVALID
        return True
    return False


def _typed(carrier: str, draw) -> str:
    """The carrier as a shopper might type it: any case, spaces anywhere, some characters full width."""
    out = []
    for char in carrier:
        if char.isalpha() and draw(st.booleans()):
            char = char.lower()
        if draw(st.booleans()):
            char = chr(ord(char) + 0xFEE0)  # its full-width form
        out.append(draw(st.sampled_from(["", " ", "\u3000", "\t"])) + char)
    return "".join(out) + draw(st.sampled_from(["", " ", "\n"]))


@given(carrier=carriers)
def test_every_carrier_of_the_right_form_is_accepted_as_it_is(carrier):
    assert normalise_carrier(carrier) == carrier
    assert is_carrier(carrier)


@given(carrier=carriers, data=st.data())
def test_a_carrier_typed_in_lower_case_full_width_or_with_spaces_is_stored_in_its_one_form(carrier, data):
    assert normalise_carrier(_typed(carrier, data.draw)) == carrier


@given(text=st.text(max_size=20))
def test_any_text_is_either_refused_or_becomes_a_well_formed_carrier(text):
    try:
        carrier = normalise_carrier(text)
    except Refused as refused:
        assert refused.reason == Reason.CARRIER_INVALID
    else:
        assert is_carrier(carrier) and len(carrier) == 8 and carrier.isascii()


@given(tail=st.text(alphabet=ALLOWED, min_size=0, max_size=12).filter(lambda t: len(t) != 7))
def test_a_carrier_of_the_wrong_length_is_refused(tail):
    assert _refused("/" + tail)


@given(carrier=carriers, position=st.integers(1, 7), bad=st.sampled_from("_*#@!?,;:'\"$%&=~/\\載ıÄé\x00"))
def test_a_carrier_with_a_character_outside_0_9_a_z_dot_plus_minus_is_refused(carrier, position, bad):
    assert _refused(carrier[:position] + bad + carrier[position + 1 :])


@pytest.mark.parametrize("text", ["ABC1234", "\\ABC1234", "ABC1234/", "/ABC 123", "", "   ", "/", "//ABC123"])
def test_a_carrier_without_its_leading_slash_or_short_is_refused(text):
    assert _refused(text)


def test_a_dotless_i_is_not_taken_for_an_i():
    assert "/ABCııı1".upper().isascii()  # Python would upper-case it to ASCII
    assert _refused("/ABCııı1")


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.text(max_size=12).filter(lambda t: _refused(t)))
def test_a_refused_carrier_changes_nothing_stored(runtime, member, bad):
    with transaction(runtime.sessions) as session:
        set_carrier(session, session.get_one(Member, member.id), "/KEEP.+-")

    with transaction(runtime.sessions) as session, pytest.raises(Refused):
        set_carrier(session, session.get_one(Member, member.id), bad)

    with transaction(runtime.sessions) as session:
        assert session.get_one(Member, member.id).einvoice_carrier == "/KEEP.+-"


def test_a_member_can_save_change_and_remove_their_carrier(runtime):
    member = make_member(runtime.sessions)

    with transaction(runtime.sessions) as session:
        row = session.get_one(Member, member.id)
        assert carrier_of(row) is None
        assert set_carrier(session, row, " /abc1234 ") == "/ABC1234"
    with transaction(runtime.sessions) as session:
        row = session.get_one(Member, member.id)
        assert carrier_of(row) == "/ABC1234"
        set_carrier(session, row, "/XYZ.+-9")
    with transaction(runtime.sessions) as session:
        row = session.get_one(Member, member.id)
        assert carrier_of(row) == "/XYZ.+-9"
        assert remove_carrier(session, row) is True
    with transaction(runtime.sessions) as session:
        row = session.get_one(Member, member.id)
        assert (carrier_of(row), remove_carrier(session, row)) == (None, False)


@pytest.mark.parametrize("carrier", ["/ABC1234", "/ZZZZZZZ", "/A.+-B9Z", "/0000000", "/+.-+.-+"])
def test_the_code39_image_decodes_to_exactly_the_carrier(carrier):
    image = Image.open(io.BytesIO(carrier_barcode_png(carrier)))

    # Standard Code 39, as a POS scanner reads it (Full ASCII would read "/A" as "!").
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code39Std)

    assert {r.text for r in results} == {carrier}


@pytest.mark.parametrize(
    "line",
    [
        "saved /ABC1234 for member 7",
        "[parameters: ('/A.+-B9Z', 7)]",
        "UPDATE members SET einvoice_carrier=/ABC1234",
        "carrier: /0000000.",
    ],
)
def test_a_carrier_never_reaches_the_logs(line):
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (line,), None)

    RedactingFilter().filter(record)

    assert not any(c in record.getMessage() for c in ("/ABC1234", "/A.+-B9Z", "/0000000"))


def test_paths_and_other_slashes_are_left_alone():
    text = "GET /members/card/code 200; POST /api/v1/scan; 3/4 done; /ABC12345 is no carrier"
    assert redact(text) == text
