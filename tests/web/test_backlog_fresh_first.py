"""Under a backlog the worker spends fresh reply tokens first: an event whose token is already too old steps aside,
a bounded number of times, while other work waits in the queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import tasks
from bot.queue import huey
from bot.services.messaging.inbox import record_webhook
from bot.web.webhook import is_known_event
from models import WebhookEvent
from tests.helpers import in_unit_of_work


@pytest.fixture
def stored_event(platform, runtime):
    user = platform.create_user("阿明")
    platform.follow(user)
    event = platform.build_event("message", user, text="點數")
    (inbox_id,), _ = in_unit_of_work(
        runtime, lambda uow: record_webhook(uow.session, {"events": [event]}, uow.now, is_known_event)
    )
    huey.flush()
    return inbox_id


def _status(session, inbox_id: int) -> str:
    return session.scalars(select(WebhookEvent.status).where(WebhookEvent.id == inbox_id)).one()


def test_a_stale_event_steps_aside_while_other_work_waits(stored_event, session, clock, monkeypatch):
    monkeypatch.setattr(tasks, "queue_depth", lambda: 12)
    received = (clock.now() - timedelta(seconds=90)).timestamp()

    tasks.process_webhook_event.call_local(stored_event, received)

    assert _status(session, stored_event) == "pending"
    (deferred,) = huey.scheduled()
    assert deferred.args == (stored_event, received, 1)


@pytest.mark.parametrize(("waiting", "age"), [(12, 0), (0, 90)], ids=["fresh behind a backlog", "stale, empty queue"])
def test_a_fresh_event_or_an_empty_queue_is_handled_at_once(stored_event, session, clock, monkeypatch, waiting, age):
    monkeypatch.setattr(tasks, "queue_depth", lambda: waiting)
    received = (clock.now() - timedelta(seconds=age)).timestamp()

    tasks.process_webhook_event.call_local(stored_event, received)

    assert _status(session, stored_event) == "done"
    assert huey.scheduled() == []


def test_an_event_steps_aside_only_so_often_and_is_then_handled(stored_event, session, clock, monkeypatch):
    monkeypatch.setattr(tasks, "queue_depth", lambda: 12)
    stale = (clock.now() - timedelta(seconds=90)).timestamp()

    tasks.process_webhook_event.call_local(stored_event, stale, tasks.MAX_DEFERRALS)

    assert _status(session, stored_event) == "done"
