"""Every message the join and bind pages and the account-link chat can show has its English translation."""

from __future__ import annotations

import re

import pytest

from bot.i18n import gettext
from bot.refusal_texts import TEXTS
from bot.services.membership import account_link, joining, verification
from bot.web import bind, join, pages

CJK = re.compile(r"[\u4e00-\u9fff]")
PARAMS = {"left": 4, "number": "M00000001", "points": 50, "brand": "OMO", "min_spend": "300", "store_code": "S1"}
PARAMS["key_id"] = 1
PARAMS |= {"scope": "members", "scopes": "scan, coupons, members"}
PARAMS |= {"minutes": 15, "code": "C001", "length": 10, "field": "地址", "name": "常客"}
# Refusals raised by the services and links these pages use, shown through the same translation.
FROM_OTHER_MODULES = {
    "這個手機號碼已經是會員，請改用「綁定既有會員」",
    "連結已過期，請回到 LINE 重新開啟",
    "連結無效，請回到 LINE 重新開啟",
    "此會員資料已刪除，無法綁定",
    "此會員已綁定其他 LINE 帳號，請洽門市人員協助解除綁定",
    "您的 LINE 帳號已綁定其他會員，請先解除綁定",
}


def _shown_texts() -> set[str]:
    constants = {
        value
        for module in (account_link, joining, verification, pages, join, bind)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and CJK.search(value)
    }
    # The services' refusals (the account-link, joining and verification ones among them) are in one table.
    return constants | FROM_OTHER_MODULES | set(TEXTS.values())


@pytest.mark.parametrize("text", sorted(_shown_texts()))
def test_the_text_has_an_english_translation(text):
    assert gettext(text, "en", **PARAMS) != text.format(**PARAMS)
