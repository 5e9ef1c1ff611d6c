"""A handler that fails loses nothing: the event stays in the inbox with its error and runs again later."""

from __future__ import annotations

import pytest
from linebot.v3.webhooks import FollowEvent
from sqlalchemy import select

import handlers
from bot.event_processing import MAX_EVENT_ATTEMPTS, process_event
from models import LineUser, WebhookEvent
from tests.helpers import count


def _broken(ctx, event):
    raise RuntimeError("the database hiccuped")


def test_a_failing_handler_still_answers_200_and_keeps_the_event_for_a_retry(platform, runtime, session, monkeypatch):
    monkeypatch.setitem(handlers.EVENT_HANDLERS, FollowEvent, _broken)
    user = platform.create_user("阿明")

    delivery = platform.follow(user)

    assert delivery.status == 200
    stored = session.scalars(select(WebhookEvent)).one()
    assert (stored.status, stored.attempts) == ("pending", 1)
    assert "the database hiccuped" in (stored.error or "")
    assert count(session, LineUser) == 0, "the failed transaction left nothing half-done"

    monkeypatch.undo()
    process_event(runtime, stored.id)

    session.expire_all()
    assert session.scalars(select(WebhookEvent.status)).one() == "done"
    assert session.scalars(select(LineUser.display_name)).one() == "阿明"


def test_an_event_that_keeps_failing_is_marked_failed_not_dropped(platform, runtime, session, monkeypatch):
    monkeypatch.setitem(handlers.EVENT_HANDLERS, FollowEvent, _broken)
    user = platform.create_user("阿明")
    platform.follow(user)
    stored_id = session.scalars(select(WebhookEvent.id)).one()

    for _ in range(MAX_EVENT_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            process_event(runtime, stored_id)

    session.expire_all()
    stored = session.get(WebhookEvent, stored_id)
    assert stored is not None
    assert (stored.status, stored.attempts) == ("failed", MAX_EVENT_ATTEMPTS)


def test_an_event_already_handled_is_not_handled_again(platform, runtime, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    stored_id = session.scalars(select(WebhookEvent.id)).one()
    sent = len(platform.bot_messages(user))

    assert not process_event(runtime, stored_id)  # nothing to send, no menu to change
    assert len(platform.bot_messages(user)) == sent
