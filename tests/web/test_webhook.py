"""The webhook: signed, stored once, answered at once; the bot's replies arrive at the local LINE platform."""

from __future__ import annotations

import json

from sqlalchemy import select

from models import LineUser, OutboundMessage, WebhookEvent
from tests.helpers import count, post_signed_webhook, texts


def test_a_missing_signature_is_refused_and_nothing_is_stored(client, session):
    body = json.dumps({"destination": "Ubot", "events": []}).encode()

    response = client.post("/callback", data=body, content_type="application/json")

    assert response.status_code == 400
    assert count(session, WebhookEvent) == 0


def test_a_wrong_signature_is_refused_and_nothing_is_stored_or_sent(platform, session):
    user = platform.create_user("阿明")
    event = platform.build_event("follow", user)

    delivery = platform.deliver([event], signature="d3Jvbmc=")

    assert delivery.status == 400
    assert count(session, WebhookEvent) == 0
    assert count(session, LineUser) == 0
    assert platform.bot_messages(user) == []


def test_a_follow_stores_the_user_with_the_profile_and_replies_with_a_welcome(platform, session):
    user = platform.create_user("林小姐", language="zh-TW")

    delivery = platform.follow(user)

    assert delivery.status == 200
    stored = session.scalars(select(LineUser)).one()
    assert (stored.line_user_id, stored.display_name, stored.is_blocked) == (user, "林小姐", False)
    welcome = texts(platform.bot_messages(user))
    assert any("林小姐" in text and "歡迎加入" in text for text in welcome)


def test_an_english_speaking_user_is_welcomed_in_english(platform):
    user = platform.create_user("Amy", language="en")

    platform.follow(user)

    assert any("Welcome" in text for text in texts(platform.bot_messages(user)))


def test_a_follow_after_a_block_is_welcomed_back(platform, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    platform.unfollow(user)

    platform.follow(user, unblocked=True)

    assert any("歡迎回來" in text for text in texts(platform.bot_messages(user)))
    assert session.scalars(select(LineUser)).one().is_blocked is False


def test_cjk_and_emoji_bodies_verify(platform, session):
    user = platform.create_user("小美 🌸")
    platform.follow(user)

    delivery = platform.send_text(user, "我想看集點卡 🍞☕️")

    assert delivery.status == 200
    stored = session.scalars(select(WebhookEvent).where(WebhookEvent.event_type == "message")).one()
    assert stored.payload["message"]["text"] == "我想看集點卡 🍞☕️"


def test_the_same_event_delivered_twice_has_one_effect(platform, session):
    user = platform.create_user("阿明")
    event = platform.build_event("follow", user)

    first = platform.deliver([event])
    again = platform.deliver([event], redelivery=True)

    assert (first.status, again.status) == (200, 200)
    assert count(session, WebhookEvent) == 1
    assert count(session, OutboundMessage) == 1
    assert len([m for m in platform.chat(user) if m["from"] == "bot"]) == 2  # one welcome: a text and a card


def test_events_in_standby_mode_send_nothing(platform, session):
    user = platform.create_user("阿明")

    delivery = platform.follow(user, mode="standby")

    assert delivery.status == 200
    assert session.scalars(select(WebhookEvent)).one().status == "skipped"
    assert platform.bot_messages(user) == []
    assert count(session, OutboundMessage) == 0


def test_malformed_json_with_a_valid_signature_is_answered_400_and_stores_nothing(client, settings, session):
    body = b'{"destination": "Ubot", "events": [ {'

    response = post_signed_webhook(client, settings.line_channel_secret, body)

    assert response.status_code == 400
    assert count(session, WebhookEvent) == 0


def test_an_unknown_event_type_is_kept_but_not_handled(platform, session):
    user = platform.create_user("阿明")
    event = platform.build_event("follow", user)
    event.update({"type": "somethingNew", "somethingNew": {"x": 1}})
    event.pop("follow")

    delivery = platform.deliver([event])

    assert delivery.status == 200
    assert session.scalars(select(WebhookEvent)).one().status == "skipped"
    assert platform.bot_messages(user) == []


def test_an_event_of_a_known_type_that_cannot_be_read_is_kept_but_not_handled(platform, session):
    user = platform.create_user("阿明")
    event = platform.build_event("follow", user)
    event.update({"type": "message", "message": {"type": "text"}})  # no id, no text: line-bot-sdk cannot read it
    good = platform.build_event("follow", platform.create_user("小美"))

    delivery = platform.deliver([event, good])

    assert delivery.status == 200
    statuses = dict(session.execute(select(WebhookEvent.event_type, WebhookEvent.status)).all())
    assert statuses == {"message": "skipped", "follow": "done"}
    assert platform.bot_messages(user) == []
    row = session.scalars(select(WebhookEvent).where(WebhookEvent.event_type == "message")).one()
    assert (row.attempts, row.payload["message"]) == (1, {"type": "text"})


def test_verify_button_with_no_events_is_answered_200(platform, session):
    assert platform.deliver([]).status == 200
    assert count(session, WebhookEvent) == 0
