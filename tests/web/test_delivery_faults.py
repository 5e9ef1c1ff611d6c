"""Delivery when LINE misbehaves (issue 10): a reply whose outcome is unknown is never sent again, pushes keep their
retry key and wait an outage out with backoff up to the horizon, and a circuit breaker stops calling a failing LINE."""

from __future__ import annotations

import dataclasses
import logging
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import delivery
from bot.db import transaction
from bot.delivery import DeliveryPolicy
from bot.line_client import LineClient, LineDeliveryError
from bot.services.messaging import outbox
from bot.services.messaging.outbox import CLAIM_TIMEOUT
from models import OutboundMessage
from tests.line_faults import FaultyLine

HELLO = [{"type": "text", "text": "今天買麵包送點數"}]


@pytest.fixture
def faulty():
    line = FaultyLine()
    yield line
    line.close()


@pytest.fixture
def line(settings, faulty) -> LineClient:
    return LineClient(dataclasses.replace(settings, line_api_base_url=faulty.url), backoff_factor=0.01, timeout=0.3)


def _reply(runtime, token: str = "token-1", at: datetime | None = None) -> OutboundMessage:
    with transaction(runtime.sessions) as tx:
        (message,) = outbox.queue_reply(
            tx, reply_token=token, line_user_id="U1", event_time=at or datetime.now(UTC), messages=HELLO
        )
    return message


def _push(runtime) -> OutboundMessage:
    with transaction(runtime.sessions) as tx:
        (message,) = outbox.queue_push(tx, "U1", HELLO)
    return message


def _row(session, message_id: int) -> OutboundMessage:
    session.expire_all()
    return session.scalars(select(OutboundMessage).where(OutboundMessage.id == message_id)).one()


@pytest.mark.parametrize("mode", ["slow", "drop"])
def test_a_reply_whose_answer_is_lost_is_sent_once_and_never_pushed(runtime, session, faulty, line, mode):
    faulty.mode, faulty.delay = mode, 1.0
    message = _reply(runtime)
    now = datetime.now(UTC)

    status = delivery.deliver(runtime.sessions, line, message.id, now)
    faulty.mode = "ok"
    again = [delivery.deliver(runtime.sessions, line, message.id, now + timedelta(minutes=m)) for m in (1, 3, 60)]

    assert status == "unknown"
    assert again == ["skipped"] * 3
    assert len(faulty.sent("/reply")) == 1, "no HTTP-level retry of a reply"
    assert faulty.sent("/push") == []
    assert faulty.delivered["reply:token-1"] == 1
    assert _row(session, message.id).status == "unknown"
    assert outbox.due_for_delivery(session, now + timedelta(hours=1), timedelta(seconds=60)) == []


def test_a_reply_left_sending_by_a_worker_that_died_is_not_sent_again(runtime, session, faulty, line):
    message = _reply(runtime)
    claimed_at = datetime.now(UTC)
    with transaction(runtime.sessions) as tx:  # what the event's unit of work leaves behind when its worker dies
        tx.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message.id)
            .values(status="sending", sent_at=claimed_at, attempts=1)
        )
    later = claimed_at + CLAIM_TIMEOUT + timedelta(seconds=1)

    assert outbox.due_for_delivery(session, later, timedelta(seconds=60)) == [message.id]
    assert delivery.deliver(runtime.sessions, line, message.id, later) == "skipped"
    assert _row(session, message.id).status == "unknown"
    assert faulty.requests == []


def test_a_push_left_sending_by_a_worker_that_died_goes_again_with_its_retry_key(runtime, session, faulty, line):
    message = _push(runtime)
    now = datetime.now(UTC)
    line.push("U1", HELLO, message.retry_key)  # the dead worker's send reached LINE
    with transaction(runtime.sessions) as tx:
        tx.execute(
            update(OutboundMessage).where(OutboundMessage.id == message.id).values(status="sending", sent_at=now)
        )

    status = delivery.deliver(runtime.sessions, line, message.id, now + CLAIM_TIMEOUT + timedelta(seconds=1))

    assert status == "sent"
    assert [r["retry_key"] for r in faulty.sent("/push")] == [message.retry_key] * 2
    assert faulty.delivered["U1"] == 1, "LINE's 409 for the repeated key counted as delivered"


def test_a_reply_refused_after_an_earlier_attempt_is_unknown_not_pushed(runtime, session, faulty, line):
    message = _reply(runtime)
    now = datetime.now(UTC)
    faulty.mode = "500"
    assert delivery.deliver(runtime.sessions, line, message.id, now) == "pending"
    faulty.mode = "ok"
    faulty.replies["token-1"] = 1  # LINE had used the token after all

    status = delivery.deliver(runtime.sessions, line, message.id, now + timedelta(seconds=20))

    assert status == "unknown"
    assert faulty.sent("/push") == []


def test_line_answering_500_is_waited_out_with_backoff_and_one_retry_key(runtime, session, faulty, line):
    faulty.mode = "500"
    message = _push(runtime)
    now = datetime.now(UTC)

    assert delivery.deliver(runtime.sessions, line, message.id, now) == "pending"
    row = _row(session, message.id)
    assert row.next_attempt_at is not None
    wait = row.next_attempt_at - now
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=10)
    assert delivery.deliver(runtime.sessions, line, message.id, now + timedelta(seconds=1)) == "skipped"
    assert message.id not in outbox.due_for_delivery(session, now + timedelta(seconds=1), timedelta(seconds=60))
    assert message.id in outbox.due_for_delivery(session, now + wait, timedelta(seconds=60))

    faulty.mode = "ok"
    assert delivery.deliver(runtime.sessions, line, message.id, now + wait) == "sent"
    keys = {r["retry_key"] for r in faulty.sent("/push")}
    assert keys == {message.retry_key}
    assert faulty.delivered["U1"] == 1


def test_backoff_doubles_with_jitter_up_to_ten_minutes():
    waits = [delivery.retry_delay(attempts) for attempts in range(1, 12)]

    assert timedelta(seconds=5) <= waits[0] <= timedelta(seconds=10)
    assert timedelta(seconds=40) <= waits[3] <= timedelta(seconds=80)
    assert all(timedelta(minutes=5) <= wait <= timedelta(minutes=10) for wait in waits[8:])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refused_connections_leave_the_message_pending_and_open_the_breaker(runtime, session, settings):
    refused = dataclasses.replace(settings, line_api_base_url=f"http://127.0.0.1:{_closed_port()}")
    line = LineClient(refused, backoff_factor=0.01, timeout=0.3)
    messages = [_push(runtime) for _ in range(7)]
    now = datetime.now(UTC)

    statuses = [delivery.deliver(runtime.sessions, line, m.id, now) for m in messages]

    assert statuses == ["pending"] * 7
    assert line.breaker.state == "open"
    rows = [_row(session, m.id) for m in messages]
    assert [row.attempts for row in rows] == [0] * 7, "a request that never reached LINE is not an attempt"
    assert all(row.next_attempt_at is not None and row.next_attempt_at > now for row in rows)


def test_the_breaker_fails_fast_then_probes_after_its_cool_down(runtime, session, faulty, line):
    at = [1000.0]
    line.breaker.clock = lambda: at[0]
    faulty.mode = "500"
    messages = [_push(runtime) for _ in range(8)]
    now = datetime.now(UTC)

    for message in messages[:5]:
        delivery.deliver(runtime.sessions, line, message.id, now)
    calls_when_opened = len(faulty.requests)
    assert line.breaker.state == "open"
    assert [delivery.deliver(runtime.sessions, line, m.id, now) for m in messages[5:7]] == ["pending"] * 2
    assert len(faulty.requests) == calls_when_opened, "an open breaker does not call LINE"

    at[0] += 31  # cool-down over: one probe; LINE still failing, so it opens again
    delivery.deliver(runtime.sessions, line, messages[7].id, now)
    assert len(faulty.requests) > calls_when_opened
    assert line.breaker.state == "open"

    at[0] += 31
    faulty.mode = "ok"
    later = now + timedelta(hours=1)
    assert [delivery.deliver(runtime.sessions, line, m.id, later) for m in messages] == ["sent"] * 8
    assert line.breaker.state == "closed"
    assert sorted(faulty.delivered.items()) == [("U1", 8)]


def test_a_push_is_given_up_only_after_the_horizon_with_an_error_logged(runtime, session, line, caplog, monkeypatch):
    pushes: list[str] = []

    def line_down(to, messages, retry_key):  # LINE answering 500 for a day, without a day of HTTP round trips
        pushes.append(retry_key)
        raise LineDeliveryError(500, "An error occurred in the server")

    monkeypatch.setattr(line, "push", line_down)
    message = _push(runtime)
    created = _row(session, message.id).created_at
    policy = DeliveryPolicy(give_up_after=timedelta(hours=24))

    statuses = []
    at = created
    while at < created + timedelta(hours=25):
        with caplog.at_level(logging.ERROR, logger="bot.delivery"):
            statuses.append(delivery.deliver(runtime.sessions, line, message.id, at, policy))
        row = _row(session, message.id)
        if row.status != "pending":
            break
        assert row.next_attempt_at is not None
        at = row.next_attempt_at

    assert statuses[-1] == "failed"
    assert set(statuses[:-1]) == {"pending"}
    assert at >= created + timedelta(hours=24)
    assert len(statuses) <= 24 * 60 // 5 + 10, "backed off (5 to 10 minutes apart at the longest), not hammering"
    assert [r.levelname for r in caplog.records if "given up" in r.message] == ["ERROR"]
    assert set(pushes) == {message.retry_key}


def test_without_fallback_a_stale_reply_is_not_pushed(runtime, session, faulty, line):
    message = _reply(runtime, at=datetime.now(UTC) - timedelta(hours=1))

    status = delivery.deliver(
        runtime.sessions, line, message.id, datetime.now(UTC), DeliveryPolicy(fallback_to_push=False)
    )

    assert status == "expired"
    assert faulty.requests == []


def test_a_stale_reply_goes_straight_to_a_push_without_a_wasted_reply_call(runtime, session, faulty, line):
    message = _reply(runtime, at=datetime.now(UTC) - timedelta(minutes=2))

    assert delivery.deliver(runtime.sessions, line, message.id, datetime.now(UTC)) == "sent"
    assert faulty.sent("/reply") == []
    assert [r["retry_key"] for r in faulty.sent("/push")] == [message.retry_key]


def test_under_a_backlog_the_newest_answers_are_taken_first(runtime, session):
    messages = [_reply(runtime, token=f"token-{n}") for n in range(3)]
    later = datetime.now(UTC) + timedelta(minutes=5)

    due = outbox.due_for_delivery(session, later, timedelta(seconds=60))

    assert due == [m.id for m in reversed(messages)], "fresh reply tokens first: the old ones become pushes anyway"
