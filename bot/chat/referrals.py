"""Chat answers when a shopper sends a clerk's referral code (「推薦碼 XXXX-XXXX」)."""

from __future__ import annotations

from linebot.v3.messaging import Message

from bot.chat.base import text
from bot.i18n import _


def thanks_guest(language: str, brand: str, staff_name: str, store_name: str) -> list[Message]:
    """A guest brought a clerk's code: thanks, before the invitation to join."""
    return text(
        _(
            "感謝您透過{store}的{clerk}加入 {brand}！加入會員即可累積點數、領取會員優惠。",
            language,
            store=store_name,
            clerk=staff_name,
            brand=brand,
        )
    )


def thanks_member(language: str, brand: str) -> list[Message]:
    """A member brought a clerk's code: thanks; nothing changes for them."""
    return text(_("感謝您對 {brand} 的支持！您已經是會員了，結帳時出示會員條碼即可累積點數。", language, brand=brand))


def unknown_code(language: str) -> list[Message]:
    """The code leads to no clerk (mistyped, or the clerk has left)."""
    return text(_("這個推薦碼無法使用，請確認後再傳送一次；也可以直接加入會員。", language))
