"""Friends the bot has no record of (they added the account before the bot was deployed, or their follow was lost)
are stored at their first event, with the profile LINE gives, and answered like anyone else."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import LineUser, WebhookEvent
from tests.helpers import texts


@pytest.mark.parametrize(
    "say",
    [
        lambda p, u: p.send_text(u, "加入會員"),
        lambda p, u: p.send_text(u, "會員條碼"),
        lambda p, u: p.send_text(u, "綁定 123456"),
        lambda p, u: p.postback(u, "action=coupon&code=CP123"),
        lambda p, u: p.postback(u, "action=stamps"),
    ],
    ids=["join", "barcode", "bind code", "coupon", "stamps"],
)
def test_a_friend_with_no_record_is_stored_and_answered(platform, session, say):
    user = platform.create_user("陳小華", language="zh-TW", friend=True)  # a friend since before the bot

    delivery = say(platform, user)

    assert delivery.status == 200
    assert texts(platform.bot_messages(user))  # answered, not failed
    stored = session.scalars(select(LineUser)).one()
    assert (stored.line_user_id, stored.display_name, stored.is_blocked) == (user, "陳小華", False)
    assert session.scalars(select(WebhookEvent.status)).all() == ["done"]
