"""The member barcode: the chat card's images decode to the current code, and the live card and its code feed."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from bot import links
from bot.links import sign_link
from bot.services.barcode.codes import STEP_SECONDS, current_code, resolve
from models import Member
from tests.binding_helpers import friend, path_of
from tests.factories import make_member
from tests.helpers import texts
from tests.pos import open_shop

# 18 s into a time step: the card's countdown reads 42.
STEP_START = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)
AT = STEP_START + timedelta(seconds=18)


def decoded(png: bytes) -> tuple[str, zxingcpp.BarcodeFormat]:
    """The one code the image holds, read as Code 128 or QR (zxing may report a code twice, or a false positive of
    another symbology in random bars)."""
    formats = [zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.QRCode]
    (result,) = {(r.text, r.format) for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=formats)}
    return result


def _images(message: dict) -> list[dict]:
    return [node for node in message["contents"]["body"]["contents"] if node["type"] == "image"]


def _signed_long_ago(monkeypatch, seconds: int, make):
    """A token made `seconds` ago (link tokens are stamped with bot.links' own clock, in seconds)."""
    with monkeypatch.context() as patch:
        patch.setattr(links, "_now_seconds", lambda: int(time.time()) - seconds)
        return make()


@pytest.fixture
def clock(clock):
    """The program's clock, stopped at AT."""
    clock.set(AT)
    return clock


@pytest.fixture
def member_user(platform, runtime):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    return user, member


def test_a_member_gets_a_card_whose_code128_and_qr_decode_to_their_current_code(
    platform, client, session, settings, member_user, clock
):
    user, member = member_user
    seen = len(platform.bot_messages(user))

    platform.send_text(user, "會員條碼")

    (message,) = platform.bot_messages(user)[seen:]
    expected = current_code(session, session.get(Member, member.id), AT).code
    barcode_image, qr_image = _images(message)
    for image, kind in ((barcode_image, zxingcpp.BarcodeFormat.Code128), (qr_image, zxingcpp.BarcodeFormat.QRCode)):
        assert image["url"].startswith(f"{settings.public_base_url}/img/") and image["url"].endswith(".png")
        assert image["aspectMode"] == "fit"
        response = client.get(path_of(image["url"]))
        assert response.status_code == 200
        assert response.content_type == "image/png"
        assert response.headers["Cache-Control"] == "private, max-age=60"
        assert decoded(response.data) == (expected, kind)
    width, height = map(int, barcode_image["aspectRatio"].split(":"))
    assert width >= 3 * height, "a wide Code 128 stays scannable"
    assert resolve(session, expected, AT)[0].id == member.id

    shown = texts([message])
    assert {"林怡君", "一般會員", "0 點"} <= set(shown)
    assert f"{expected[:6]} {expected[6:12]} {expected[12:]}" in shown
    assert f"會員編號 {member.member_number}（僅供查詢）" in shown
    (button,) = message["contents"]["footer"]["contents"]
    assert button["style"] == "primary"
    assert button["action"]["label"] == "開啟動態條碼"
    assert button["action"]["uri"].startswith(f"{settings.public_base_url}/members/card?t=")
    assert user not in button["action"]["uri"], "no bare LINE user id in the link"


def test_the_barcode_postback_answers_in_english_for_an_english_speaker(platform, runtime):
    user = friend(platform, "Amy", language="en")
    member = make_member(runtime.sessions, bound_to=user)
    seen = len(platform.bot_messages(user))

    platform.postback(user, "action=barcode")

    shown = texts(platform.bot_messages(user)[seen:])
    assert f"Member no. {member.member_number} (look-up only)" in shown
    assert "Regular" in shown


def test_a_guest_asking_for_the_barcode_is_invited_to_join_or_bind(platform, settings):
    user = friend(platform)
    seen = len(platform.bot_messages(user))

    platform.send_text(user, "會員條碼")

    (message,) = platform.bot_messages(user)[seen:]
    labels = {b["action"]["label"]: b["action"] for b in message["contents"]["footer"]["contents"]}
    assert labels["加入會員"]["uri"].startswith(f"{settings.public_base_url}/members/join?t=")
    assert "/img/" not in str(message)


def test_an_image_link_that_is_forged_altered_or_older_than_three_minutes_is_not_found(client, settings, monkeypatch):
    code = "000000000112345678"
    good = links.image_path(settings, code, "code128")
    stale = _signed_long_ago(monkeypatch, 181, lambda: links.image_path(settings, code, "code128"))
    fresh = _signed_long_ago(monkeypatch, 170, lambda: links.image_path(settings, code, "qr"))
    other_purpose = f"/img/{sign_link(settings, 'card', {'c': code, 'k': 'qr'})}.png"
    not_a_code = links.image_path(settings, "<script>", "qr")

    assert client.get(good).status_code == 200
    assert client.get(fresh).status_code == 200
    for path in (stale, other_purpose, not_a_code, good.replace(".png", "x.png"), "/img/forged.png"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.data == b""


def test_the_live_card_shows_the_member_the_code_and_a_countdown(client, settings, session, member_user, clock):
    user, member = member_user

    response = client.get(path_of(links.card_url(settings, user)))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    code = current_code(session, session.get(Member, member.id), AT).code
    for shown in ("林怡君", "一般會員", member.member_number, "僅供查詢", f"{code[:6]} {code[6:12]} {code[12:]}"):
        assert shown in page
    assert "條碼將於 42 秒後更新" in page and "refreshes in 42 s" in page
    assert '<meta name="viewport"' in page
    assert "http://" not in page and "https://" not in page, "no external assets"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("age", [None, 12 * 3600 + 5])
def test_a_forged_or_expired_card_link_is_refused_without_member_data(client, settings, member_user, monkeypatch, age):
    user, member = member_user
    if age is None:
        url = links.card_url(settings, user).replace("?t=", "?t=x")
    else:
        url = _signed_long_ago(monkeypatch, age, lambda: links.card_url(settings, user))

    for path in (path_of(url), path_of(url).replace("/members/card?", "/members/card/code?")):
        response = client.get(path)
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        assert "林怡君" not in body and member.member_number not in body and "/img/" not in body
        assert response.headers["Cache-Control"] == "no-store"
    page = client.get(path_of(url)).get_data(as_text=True)
    assert "請回到 LINE 重新開啟" in page and "Please open it again from LINE." in page
    assert client.get(path_of(url).replace("/members/card?", "/members/card/code?")).json["error"] == "link_invalid"


def test_a_line_user_without_a_membership_is_told_to_bind_first(client, platform, settings):
    user = friend(platform)

    page = client.get(path_of(links.card_url(settings, user)))
    feed = client.get(path_of(links.card_url(settings, user)).replace("/members/card?", "/members/card/code?"))

    assert page.status_code == 404
    assert "尚未綁定會員" in page.get_data(as_text=True)
    assert "not linked to a membership" in page.get_data(as_text=True)
    assert (feed.status_code, feed.json["error"]) == (404, "not_a_member")


def test_the_code_feed_answers_a_new_code_when_the_time_step_changes(client, settings, session, member_user, clock):
    user, member = member_user
    feed = path_of(links.card_url(settings, user)).replace("/members/card?", "/members/card/code?")

    first = client.get(feed)
    same_step = client.get(feed).json
    clock.set(AT + timedelta(seconds=STEP_SECONDS))
    next_step = client.get(feed).json

    assert first.headers["Cache-Control"] == "no-store"
    data = first.json
    assert set(data) >= {"code", "expires_at", "seconds_left", "barcode_url", "qr_url"}
    assert data["seconds_left"] == 42
    assert datetime.fromisoformat(data["expires_at"]) == STEP_START + timedelta(seconds=STEP_SECONDS)
    assert same_step["code"] == data["code"]
    assert next_step["code"] != data["code"]
    assert next_step["code"] == current_code(session, session.get(Member, member.id), clock.now()).code
    assert decoded(client.get(next_step["barcode_url"]).data)[0] == next_step["code"]
    assert decoded(client.get(next_step["qr_url"]).data)[0] == next_step["code"]
    # The code on screen still scans during the next step, which is when the page swaps it.
    assert resolve(session, data["code"], clock.now())[0].id == member.id


def test_the_scan_api_resolves_what_a_scanner_reads_off_the_chat_card_to_the_member(
    platform, client, runtime, member_user
):
    shop = open_shop(runtime.sessions)
    user, member = member_user
    seen = len(platform.bot_messages(user))
    platform.send_text(user, "會員條碼")
    barcode_image, _qr = _images(platform.bot_messages(user)[seen])
    scanned, _format = decoded(client.get(path_of(barcode_image["url"])).data)

    response = client.post("/api/v1/scan", json={"code": scanned, "intent": "transaction"}, headers=shop.auth)

    assert response.status_code == 200
    assert response.get_json()["member"]["member_number"] == member.member_number
