"""A signed webhook whose events carry what no database column should hold (NUL, unpaired surrogates), malformed
ids, impossible times or deep nesting: the bad events are stored as rejected with the reason, the good events of
the same request are handled, and nothing answers 500 (on SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select

from models import WebhookEvent
from tests.helpers import post_signed_webhook


def _text_event(platform, user: str, text: str = "集點卡") -> dict:
    return platform.build_event("message", user, text=text)


def _deliver(client, settings, events: list[dict]) -> int:
    """Post the events signed, as LINE would (ASCII-escaped JSON carries the unpaired surrogates through)."""
    body = json.dumps({"destination": "U0", "events": events}).encode()
    return int(post_signed_webhook(client, settings.line_channel_secret, body).status_code)


def _broken(platform, user: str, break_it) -> dict:
    event = copy.deepcopy(_text_event(platform, user))
    break_it(event)
    return event


BREAKAGES = {
    "nul in text": lambda e: e["message"].update(text="集點\x00卡"),
    "surrogate in text": lambda e: e["message"].update(text="集點\ud800卡"),
    "nul in user id": lambda e: e["source"].update(userId="U" + "0" * 31 + "\x00"),
    "surrogate in user id": lambda e: e["source"].update(userId="U\ud800"),
    "user id too long": lambda e: e["source"].update(userId="U" + "a" * 64),
    "user id of the wrong type": lambda e: e["source"].update(userId=12345),
    "nul in event id": lambda e: e.update(webhookEventId="01J\x00"),
    "surrogate in event id": lambda e: e.update(webhookEventId="01J\udc00"),
    "event id too long": lambda e: e.update(webhookEventId="0" * 65),
    "no event id": lambda e: e.pop("webhookEventId"),
    "timestamp far in the future": lambda e: e.update(timestamp=10**20),
    "timestamp as a float": lambda e: e.update(timestamp=1e20),
    "deep nesting": lambda e: e["message"].update(extra=json.loads("[" * 200 + "]" * 200)),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_bad_event_is_stored_as_rejected_and_the_good_one_beside_it_is_answered(
    platform, client, settings, session, breakage
):
    user = platform.create_user("林怡君")
    platform.follow(user)
    seen = len(platform.bot_messages(user))
    good = _text_event(platform, user)
    bad = _broken(platform, user, BREAKAGES[breakage])

    assert _deliver(client, settings, [bad, good]) == 200

    assert len(platform.bot_messages(user)) > seen  # the good event was answered
    rejected = session.scalars(select(WebhookEvent).where(WebhookEvent.status == "rejected")).one()
    assert rejected.error
    assert (
        session.scalars(
            select(WebhookEvent.status).where(WebhookEvent.webhook_event_id == good["webhookEventId"])
        ).one()
        == "done"
    )


def test_the_same_broken_event_delivered_twice_is_stored_once(platform, client, settings, session):
    user = platform.create_user("林怡君")
    bad = _broken(platform, user, BREAKAGES["no event id"])

    assert [_deliver(client, settings, [bad]), _deliver(client, settings, [bad])] == [200, 200]
    assert len(session.scalars(select(WebhookEvent)).all()) == 1


def test_a_body_nested_beyond_what_a_parser_can_follow_is_refused_with_400(client, settings, session):
    body = ('{"destination": "U0", "events": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()

    response = post_signed_webhook(client, settings.line_channel_secret, body)

    assert response.status_code == 400
    assert session.scalars(select(WebhookEvent)).all() == []


@examples(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(
        alphabet=st.one_of(st.characters(), st.characters(categories=["Cs"]), st.just("\x00")), min_size=1, max_size=40
    )
)
def test_any_text_a_message_can_carry_is_stored_and_never_fails_the_request(platform, client, settings, session, text):
    user = platform.create_user("林怡君", friend=True)
    event = _text_event(platform, user, "x")
    event["message"]["text"] = text

    assert _deliver(client, settings, [event]) == 200

    status = session.scalars(
        select(WebhookEvent.status).where(WebhookEvent.webhook_event_id == event["webhookEventId"])
    ).one()
    assert status in ("done", "rejected")
