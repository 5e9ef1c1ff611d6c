"""刮刮樂: the chat hands out a card decided and recorded by the server; its signed page only reveals the result.
A link opened again shows the same result and plays nothing; an expired, forged or someone else's link shows a
zh-TW error and awards nothing."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot import links
from bot.links import scratch_url
from models import Coupon, GamePlay
from tests.binding_helpers import friend, path_of
from tests.engagement_helpers import play_at, seed
from tests.factories import make_member
from tests.helpers import texts

NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # Monday 12:00 in Taipei
BOGO = 100_000  # inside the example's LATTE card: BOGO is its first 30%


@pytest.fixture
def latte(runtime, clock):
    seed(runtime, NOON)
    clock.set(NOON)


def _card_link(messages: list[dict]) -> str:
    for message in messages:
        for button in message.get("contents", {}).get("footer", {}).get("contents", []):
            uri = button.get("action", {}).get("uri")
            if uri:
                return str(uri)
    raise AssertionError("no scratch link in the reply")


def test_the_chat_hands_out_todays_card_once_and_then_the_same_card_again(platform, runtime, latte, session):
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)

    seen = len(platform.bot_messages(user))
    platform.send_text(user, "刮刮樂")
    first = platform.bot_messages(user)[seen:]
    platform.postback(user, "action=scratch")
    again = platform.bot_messages(user)[seen + len(first) :]

    assert "您有一張刮刮樂！" in texts(first)
    assert "今天的刮刮樂已經刮過囉！" in texts(again)
    assert session.scalar(select(func.count(GamePlay.id))) == 1
    assert (
        links.read_link(runtime.settings, "scratch", _card_link(first).split("t=")[1])["p"]
        == links.read_link(runtime.settings, "scratch", _card_link(again).split("t=")[1])["p"]
    )


def test_the_page_shows_the_prize_decided_before_it_opened_and_the_same_again(client, runtime, latte, session):
    member = make_member(runtime.sessions)
    prize, _left, play_id = play_at(runtime, member.id, "scratch", NOON, BOGO)
    assert prize == "BOGO"
    coupons_before = session.scalar(select(func.count(Coupon.id)))
    line_user = _bind(runtime, member.id)
    url = path_of(scratch_url(runtime.settings, line_user, play_id))

    first = client.get(url)
    second = client.get(url)

    for page in (first, second):
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "拿鐵買一送一" in html and "Latte: buy one, get one free" in html
        assert re.search(r'data-testid="coupon-code">[A-Z0-9]+<', html)
    assert 'data-revealed="false"' in first.get_data(as_text=True)
    assert 'data-revealed="true"' in second.get_data(as_text=True)
    assert session.scalar(select(func.count(GamePlay.id))) == 1
    assert session.scalar(select(func.count(Coupon.id))) == coupons_before == 1


def _bind(runtime, member_id: int) -> str:
    """Give the member a LINE account and return its user id."""
    from bot.db import transaction
    from models import LineUser, Member

    user_id = "U" + f"{member_id:032x}"
    with transaction(runtime.sessions) as tx:
        line_user = LineUser(line_user_id=user_id, display_name="林小姐", language="zh-TW")
        tx.add(line_user)
        tx.flush()
        tx.get_one(Member, member_id).line_user_id = line_user.id
    return user_id


def test_an_expired_a_forged_and_someone_elses_link_show_an_error_and_award_nothing(
    client, runtime, latte, session, monkeypatch
):
    member = make_member(runtime.sessions)
    other = make_member(runtime.sessions, phone="+886922333444")
    owner = _bind(runtime, member.id)
    stranger = _bind(runtime, other.id)
    _prize, _left, play_id = play_at(runtime, member.id, "scratch", NOON, BOGO)
    with monkeypatch.context() as past:
        past.setattr(links, "_now_seconds", lambda: int(time.time()) - 25 * 60 * 60)
        expired = path_of(scratch_url(runtime.settings, owner, play_id))
    good = scratch_url(runtime.settings, owner, play_id)
    forged = path_of(good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB"))
    someone_else = path_of(scratch_url(runtime.settings, stranger, play_id))

    links_by_name = {"expired": expired, "forged": forged, "other": someone_else}
    answers = {name: client.get(url) for name, url in links_by_name.items()}

    assert "連結已過期，請回到 LINE 重新開啟" in answers["expired"].get_data(as_text=True)
    assert "連結無效，請回到 LINE 重新開啟" in answers["forged"].get_data(as_text=True)
    assert "這張刮刮樂不屬於您的 LINE 帳號" in answers["other"].get_data(as_text=True)
    assert {page.status_code for page in answers.values()} == {403}
    assert "拿鐵買一送一" not in "".join(page.get_data(as_text=True) for page in answers.values())
    assert session.scalar(select(func.count(GamePlay.id))) == 1
    assert session.scalar(select(func.count(Coupon.id))) == 1
    assert session.scalars(select(GamePlay.revealed_at)).one() is None
