"""The e-invoice mobile barcode carrier from the chat (signed webhooks through the local LINE platform): a member
saves, sees, changes and removes it; a typo is refused with the format and stores nothing; a guest is invited to
join; the live card shows it as a Code 39 barcode that decodes to exactly the saved carrier."""

from __future__ import annotations

import io
import logging
import re

import pytest
import zxingcpp
from PIL import Image

from bot import links
from bot.db import transaction
from bot.services.membership.erasure import request_erasure
from models import Member
from tests.binding_helpers import friend, path_of
from tests.factories import make_member
from tests.helpers import texts

FORMAT = "手機條碼格式為 / 加 7 碼英數字，例如 /ABC1234"


@pytest.fixture
def member_user(platform, runtime):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    return user, member


def _say(platform, user: str, text: str) -> list[dict]:
    seen = len(platform.bot_messages(user))
    platform.send_text(user, text)
    return platform.bot_messages(user)[seen:]


def _saved(runtime, member_id: int) -> str | None:
    with transaction(runtime.sessions) as session:
        return session.get_one(Member, member_id).einvoice_carrier


def _code39(png: bytes) -> set[str]:
    image = Image.open(io.BytesIO(png))
    return {r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code39Std)}


def _card_carrier_image(client, settings, user: str) -> tuple[str, str | None]:
    page = client.get(path_of(links.card_url(settings, user))).get_data(as_text=True)
    found = re.search(r'id="carrier-barcode"[^>]*src="([^"]+)"', page, re.DOTALL)
    return page, found.group(1) if found else None


def test_a_member_saves_a_carrier_typed_loosely_and_gets_it_back_as_a_barcode(platform, client, runtime, member_user):
    user, member = member_user

    answer = _say(platform, user, "載具 /abc 1234")

    assert _saved(runtime, member.id) == "/ABC1234"
    lead, card = answer
    assert lead["text"] == "已儲存您的手機條碼載具。"
    shown = texts([card])
    assert "/ABC1234" in shown and "手機條碼載具" in shown
    (image,) = [node for node in card["contents"]["body"]["contents"] if node["type"] == "image"]
    response = client.get(path_of(image["url"]))
    assert (response.status_code, response.content_type) == (200, "image/png")
    assert _code39(response.data) == {"/ABC1234"}
    footer = {b["action"]["label"]: b["action"] for b in card["contents"]["footer"]["contents"]}
    assert footer["刪除載具"]["data"] == "action=carrier_remove"
    assert footer["開啟動態條碼"]["uri"].startswith(links.card_url(runtime.settings, user).split("?")[0])
    assert [item["action"]["data"] for item in card["quickReply"]["items"]] == ["action=carrier_remove"]


def test_the_keyword_alone_shows_the_saved_carrier_or_how_to_set_one(platform, member_user):
    user, _member = member_user

    (none_yet,) = _say(platform, user, "載具")
    _say(platform, user, "手機條碼 /XYZ.+-9")
    lead, card = _say(platform, user, "手機條碼")

    assert "您還沒有設定手機條碼載具" in none_yet["text"] and "載具 /ABC1234" in none_yet["text"]
    assert lead["text"] == "您目前的手機條碼載具："
    assert "/XYZ.+-9" in texts([card])


def test_a_member_changes_and_then_removes_their_carrier(platform, runtime, member_user):
    user, member = member_user
    _say(platform, user, "載具 /ABC1234")

    _say(platform, user, "/ZZZ0000")  # the carrier alone, as pasted from the e-invoice app
    changed = _saved(runtime, member.id)
    seen = len(platform.bot_messages(user))
    platform.postback(user, "action=carrier_remove")
    (removed,) = platform.bot_messages(user)[seen:]
    (again,) = _say(platform, user, "刪除載具")

    assert changed == "/ZZZ0000"
    assert _saved(runtime, member.id) is None
    assert removed["text"].startswith("已刪除您的手機條碼載具。")
    assert again["text"].startswith("您還沒有設定手機條碼載具。")


@pytest.mark.parametrize("typo", ["載具 /ABC123", "載具 ABC1234", "載具 /ABC_234", "手機條碼 /ABC12345", "/AB載1234"])
def test_a_typo_is_refused_with_the_format_and_the_saved_carrier_is_kept(platform, runtime, member_user, typo):
    user, member = member_user
    _say(platform, user, "載具 /KEEP123")

    (answer,) = _say(platform, user, typo)

    assert answer["text"].startswith(FORMAT)
    assert "載具 /ABC1234" in answer["text"]
    assert _saved(runtime, member.id) == "/KEEP123"


def test_an_english_speaker_gets_the_format_in_english(platform, runtime):
    user = friend(platform, "Amy", language="en")
    member = make_member(runtime.sessions, bound_to=user)

    (answer,) = _say(platform, user, "carrier /ABC12")
    lead, _card = _say(platform, user, "carrier /abc1234")

    assert answer["text"].startswith("A mobile barcode is / followed by 7 letters or digits, for example /ABC1234")
    assert lead["text"] == "Your e-invoice mobile barcode is saved."
    assert _saved(runtime, member.id) == "/ABC1234"


@pytest.mark.parametrize("text", ["載具", "載具 /ABC1234", "刪除載具"])
def test_a_guest_is_invited_to_join_and_nothing_is_stored(platform, runtime, text):
    user = friend(platform)

    (answer,) = _say(platform, user, text)

    labels = [b["action"]["label"] for b in answer["contents"]["footer"]["contents"]]
    assert labels[0] == "加入會員"
    with transaction(runtime.sessions) as session:
        assert session.query(Member).filter(Member.einvoice_carrier.is_not(None)).count() == 0


def test_the_live_card_shows_the_carrier_as_code39_that_decodes_to_exactly_the_saved_carrier(
    platform, client, runtime, settings, member_user
):
    user, member = member_user
    page_before, no_image = _card_carrier_image(client, settings, user)
    _say(platform, user, "載具 /a.+-b9z")

    page, image_path = _card_carrier_image(client, settings, user)

    assert no_image is None and "手機條碼載具" not in page_before
    assert "手機條碼載具" in page and "/A.+-B9Z" in page
    assert image_path is not None and image_path.startswith("/img/carrier/")
    response = client.get(image_path)
    assert response.status_code == 200 and response.headers["Cache-Control"].startswith("private")
    assert _code39(response.data) == {_saved(runtime, member.id)} == {"/A.+-B9Z"}
    assert page.index('id="codes"') < page.index('id="carrier"'), "under the member code"


def test_a_carrier_image_link_that_is_forged_or_of_another_purpose_is_not_found(client, settings):
    good = links.carrier_image_path(settings, "/ABC1234")
    not_a_carrier = links.carrier_image_path(settings, "<b>")
    barcode_token = links.image_path(settings, "000000000112345678", "code128")[len("/img/") : -len(".png")]

    assert client.get(good).status_code == 200
    for path in (not_a_carrier, f"/img/carrier/{barcode_token}.png", "/img/carrier/forged.png"):
        response = client.get(path)
        assert (response.status_code, response.data) == (404, b""), path


def test_an_erased_member_keeps_no_carrier(runtime, member_user, clock):
    _user, member = member_user
    with transaction(runtime.sessions) as session:
        row = session.get_one(Member, member.id)
        row.einvoice_carrier = "/ABC1234"

    with transaction(runtime.sessions) as session:
        request_erasure(session, session.get_one(Member, member.id), "chat", clock.now())

    assert _saved(runtime, member.id) is None


def test_the_member_profile_leads_to_the_carrier(platform, member_user):
    user, _member = member_user

    (profile,) = _say(platform, user, "會員資料")

    actions = {b["action"]["label"]: b["action"]["data"] for b in profile["contents"]["footer"]["contents"]}
    assert actions["手機條碼載具"] == "action=carrier"


def test_the_carrier_is_in_no_log_record_of_saving_showing_and_removing_it(
    platform, client, settings, member_user, caplog
):
    user, _member = member_user
    caplog.set_level(logging.DEBUG)

    _say(platform, user, "載具 /LOG.+-7")
    _say(platform, user, "載具")
    client.get(path_of(links.card_url(settings, user)))
    seen = len(platform.bot_messages(user))
    platform.postback(user, "action=carrier")
    platform.postback(user, "action=carrier_remove")

    assert len(platform.bot_messages(user)) > seen
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "LOG.+-7" not in logged and "log.+-7" not in logged.lower()
