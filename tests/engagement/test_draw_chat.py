"""抽獎 in the chat through signed webhooks: the result with the plays the server still allows, the refusal when
none is left, a guest's invitation; and a postback posted by hand with LINE's signature."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.services.engagement import odds
from models import GamePlay
from tests.binding_helpers import friend
from tests.engagement_helpers import grant_at, seed
from tests.factories import make_member
from tests.helpers import post_signed_webhook, texts

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # Monday 12:00 in Taipei


def _ask(platform, user, text: str) -> list[dict]:
    seen = len(platform.bot_messages(user))
    platform.send_text(user, text)
    return platform.bot_messages(user)[seen:]


def _always(monkeypatch, number: int) -> None:
    monkeypatch.setattr(odds, "_SYSTEM_RANDOM", type("Fixed", (), {"randrange": lambda self, stop: number})())


def test_a_draw_shows_the_prize_and_the_plays_left_and_then_refuses(platform, runtime, clock, monkeypatch, session):
    seed(runtime, NOON)
    clock.set(NOON)
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    grant_at(runtime, member.id, 1, NOON, key="mission-test")
    _always(monkeypatch, 60_000)  # the 20-point band of the example's DAILY draw (BREAD 0–5%, PTS20 5–15%)

    first = texts(_ask(platform, user, "抽獎"))
    second = texts(_ask(platform, user, "幸運抽獎"))
    third = texts(_ask(platform, user, "抽獎"))

    assert "恭喜您抽中「20 點」！" in first and "已為您加入 20 點。" in first and "剩餘次數：1 次" in first
    assert "今天的次數已用完，明天再來！" in second
    assert third == ["今天的次數已經用完了，明天再來試試手氣吧！"]
    assert session.scalar(select(func.count(GamePlay.id))) == 2


def test_no_prize_says_so_in_english_for_an_english_speaking_member(platform, runtime, clock, monkeypatch):
    seed(runtime, NOON)
    clock.set(NOON)
    user = friend(platform, language="en")
    make_member(runtime.sessions, bound_to=user)
    _always(monkeypatch, 999_999)

    words = texts(_ask(platform, user, "draw"))

    assert "No prize this time. Better luck next time!" in words and "No plays left today. Come back tomorrow!" in words


def test_a_guest_is_invited_to_join_and_plays_nothing(platform, runtime, clock, session):
    seed(runtime, NOON)
    clock.set(NOON)
    user = friend(platform)

    words = texts(_ask(platform, user, "抽獎"))

    assert any("會員" in word for word in words)
    assert session.scalar(select(func.count(GamePlay.id))) == 0


def test_a_signed_postback_plays_once_and_a_wrong_signature_plays_nothing(client, platform, runtime, clock, settings):
    seed(runtime, NOON)
    clock.set(NOON)
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)
    event = platform.build_event("postback", user, data="action=draw")
    body, _signature = platform.signed_body([event])

    forged = client.post(
        "/callback", data=body, content_type="application/json", headers={"X-Line-Signature": "AAAA" + "=" * 40}
    )
    signed = post_signed_webhook(client, settings.line_channel_secret, body)

    assert forged.status_code in (400, 401, 403) and signed.status_code == 200
    sent = platform.bot_messages(user)
    assert any("剩餘次數" in t or "今天的次數已用完" in t for t in texts(sent))
    assert json.loads(body)["events"][0]["postback"]["data"] == "action=draw"
