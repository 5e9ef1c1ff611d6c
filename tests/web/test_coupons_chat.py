"""Coupons in the chat: the carousel of usable coupons, and a coupon's barcode that decodes to its code."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from bot.db import transaction
from bot.services.rewards.coupons import redeem_coupon
from tests.binding_helpers import friend, path_of
from tests.coupon_helpers import T0, give, make_template
from tests.factories import make_member
from tests.helpers import texts
from tests.pos import open_shop


@pytest.fixture(autouse=True)
def _at_t0(clock):
    clock.set(T0)


def _member_user(platform, runtime, language: str = "zh-TW"):
    user = friend(platform, "林怡君", language=language)
    return user, make_member(runtime.sessions, bound_to=user)


def _new_messages(platform, user, act):
    seen = len(platform.bot_messages(user))
    act()
    return platform.bot_messages(user)[seen:]


def test_a_member_sees_a_carousel_of_usable_coupons_with_what_each_gives_and_until_when(platform, runtime):
    user, member = _member_user(platform, runtime)
    nt50 = make_template(runtime.sessions)
    bread = make_template(
        runtime.sessions, "FREEBREAD", name="招牌麵包兌換券", kind="free_item", item="招牌麵包", value=0, min_spend=0
    )
    first, _ = give(runtime.sessions, member, nt50, "a", at=T0 - timedelta(days=1))
    second, _ = give(runtime.sessions, member, bread, "b")

    (message,) = _new_messages(platform, user, lambda: platform.send_text(user, "優惠券"))

    assert message["type"] == "flex" and message["contents"]["type"] == "carousel"
    bubbles = message["contents"]["contents"]
    assert texts(bubbles[0]) == ["滿 300 折 50", "折抵 NT$50", "消費滿 NT$300 可使用", "有效期限 2025-06-30"]
    assert texts(bubbles[1]) == ["招牌麵包兌換券", "免費兌換 招牌麵包", "無最低消費", "有效期限 2025-07-01"]
    buttons = [bubble["footer"]["contents"][0]["action"] for bubble in bubbles]
    assert [button["data"] for button in buttons] == [f"action=coupon&code={c.code}" for c in (first, second)]
    assert {button["label"] for button in buttons} == {"出示條碼"}


def test_the_barcode_button_answers_with_a_code128_image_of_the_coupon_code_and_the_code(platform, runtime, client):
    user, member = _member_user(platform, runtime)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "a")

    image, text = _new_messages(platform, user, lambda: platform.postback(user, f"action=coupon&code={coupon.code}"))

    assert image["type"] == "image" and image["originalContentUrl"] == image["previewImageUrl"]
    response = client.get(path_of(image["originalContentUrl"]))
    assert response.status_code == 200 and response.content_type == "image/png"
    # Read as Code 128 only: zxing may see a random code a second time, or as another symbology's false positive.
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)), formats=zxingcpp.BarcodeFormat.Code128)
    assert {decoded.text for decoded in found} == {coupon.code}
    assert coupon.code in text["text"] and "有效期限 2025-07-01" in text["text"]
    assert client.get(path_of(image["originalContentUrl"]).replace("/img/coupon/", "/img/coupon/x")).status_code == 404


def test_a_coupon_that_is_used_or_someone_elses_shows_no_barcode(platform, runtime):
    user, member = _member_user(platform, runtime)
    other = make_member(runtime.sessions, member_number="M000002", phone="+886922333444")
    template = make_template(runtime.sessions)
    used, _ = give(runtime.sessions, member, template, "a")
    theirs, _ = give(runtime.sessions, other, template, "b")
    shop = open_shop(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        redeem_coupon(
            tx, used.code, store_id=shop.store_id, staff_id=None, channel="clerk_scan", at=T0, member_id=member.id
        )

    answers = [
        texts(_new_messages(platform, user, lambda code=code: platform.postback(user, f"action=coupon&code={code}")))
        for code in (used.code, theirs.code)
    ]

    assert answers == [["此優惠券已使用"], ["找不到這張優惠券，請輸入「優惠券」查看您的優惠券。"]]


def test_at_most_ten_coupons_are_shown_and_the_rest_counted(platform, runtime):
    user, member = _member_user(platform, runtime)
    template = make_template(runtime.sessions)
    for i in range(12):
        give(runtime.sessions, member, template, f"k{i}")

    carousel, more = _new_messages(platform, user, lambda: platform.send_text(user, "coupons"))

    assert len(carousel["contents"]["contents"]) == 10
    assert carousel["altText"] == "我的優惠券（12 張）"
    assert more["text"] == "還有 2 張優惠券沒有列出，請先使用即將到期的。"


def test_a_member_without_coupons_gets_a_friendly_word(platform, runtime):
    user, _member = _member_user(platform, runtime)

    shown = texts(_new_messages(platform, user, lambda: platform.send_text(user, "優惠券")))

    assert shown == ["您目前沒有可以使用的優惠券。集滿集點卡、參加活動或在生日當月，都有機會收到優惠券喔！"]


def test_a_guest_is_invited_to_join_or_bind(platform):
    user = friend(platform, "阿明")

    (card,) = _new_messages(platform, user, lambda: platform.send_text(user, "優惠券"))

    assert card["altText"] == "加入或綁定會員"
    assert card["contents"]["footer"]["contents"][0]["action"]["label"] == "加入會員"


def test_an_english_speaking_member_reads_english(platform, runtime):
    user, member = _member_user(platform, runtime, language="en")
    give(runtime.sessions, member, make_template(runtime.sessions), "a")

    (message,) = _new_messages(platform, user, lambda: platform.send_text(user, "coupons"))

    assert texts(message["contents"]["contents"][0])[1:] == [
        "NT$50 off",
        "For a spend of NT$300 or more",
        "Valid until 2025-07-01",
    ]
    assert message["contents"]["contents"][0]["footer"]["contents"][0]["action"]["label"] == "Show barcode"
