"""Messages go out after commit, once; blocked users get nothing; a reply too late becomes a push."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import delivery
from bot.db import transaction
from bot.services.messaging import outbox
from models import OutboundMessage

HELLO = [{"type": "text", "text": "今天買麵包送點數"}]


def test_nothing_is_pushed_to_a_user_who_blocked_the_bot(runtime, platform, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    platform.unfollow(user)
    before = len(platform.bot_messages(user))

    with transaction(runtime.sessions) as tx:
        queued = outbox.queue_push(tx, user, HELLO)

    assert queued == []
    assert len(platform.bot_messages(user)) == before
    assert not [r for r in platform.requests if r["path"].endswith("/push")]


def test_a_push_queued_before_the_user_blocked_is_dropped_not_sent(runtime, platform, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    with transaction(runtime.sessions) as tx:
        (message,) = outbox.queue_push(tx, user, HELLO)
    platform.unfollow(user)

    status = delivery.deliver(runtime.sessions, runtime.line, message.id, datetime.now(UTC))

    assert status == "dropped"
    assert not [r for r in platform.requests if r["path"].endswith("/push")]


def test_a_multicast_leaves_out_only_the_recipients_who_blocked_since_it_was_written(runtime, platform, session):
    users = [platform.create_user(f"好友{n}") for n in range(4)]
    for user in users:
        platform.follow(user)
    with transaction(runtime.sessions) as tx:
        message = OutboundMessage(kind="multicast", recipients=users, messages=HELLO, retry_key=str(uuid.uuid4()))
        tx.add(message)
    platform.unfollow(users[1])
    platform.unfollow(users[3])

    status = delivery.deliver(runtime.sessions, runtime.line, message.id, datetime.now(UTC))

    assert status == "sent"
    (call,) = [r for r in platform.requests if r["path"].endswith("/multicast")]
    assert call["body"]["to"] == [users[0], users[2]]
    assert [HELLO[0] in platform.bot_messages(user) for user in users] == [True, False, True, False]


def test_a_multicast_to_users_who_all_blocked_is_dropped_not_sent(runtime, platform, session):
    users = [platform.create_user(f"好友{n}") for n in range(2)]
    for user in users:
        platform.follow(user)
    with transaction(runtime.sessions) as tx:
        message = OutboundMessage(kind="multicast", recipients=users, messages=HELLO, retry_key=str(uuid.uuid4()))
        tx.add(message)
    for user in users:
        platform.unfollow(user)

    assert delivery.deliver(runtime.sessions, runtime.line, message.id, datetime.now(UTC)) == "dropped"
    assert not [r for r in platform.requests if r["path"].endswith("/multicast")]


def test_a_message_is_delivered_once_even_if_asked_twice(runtime, platform, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    with transaction(runtime.sessions) as tx:
        (message,) = outbox.queue_push(tx, user, HELLO)
    now = datetime.now(UTC)

    statuses = [delivery.deliver(runtime.sessions, runtime.line, message.id, now) for _ in range(2)]

    assert statuses == ["sent", "skipped"]
    assert platform.bot_messages(user).count(HELLO[0]) == 1


def test_a_reply_whose_token_has_expired_goes_out_as_a_push(runtime, platform, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with transaction(runtime.sessions) as tx:
        (message,) = outbox.queue_reply(
            tx, reply_token="expired-token", line_user_id=user, event_time=an_hour_ago, messages=HELLO
        )

    status = delivery.deliver(runtime.sessions, runtime.line, message.id, datetime.now(UTC))

    assert status == "sent"
    session.expire_all()
    assert (
        session.scalars(select(OutboundMessage.delivered_via).where(OutboundMessage.id == message.id)).one() == "push"
    )
    assert platform.bot_messages(user)[-1] == HELLO[0]


def test_a_reply_refused_by_line_falls_back_to_a_push(runtime, platform, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    with transaction(runtime.sessions) as tx:
        (message,) = outbox.queue_reply(
            tx, reply_token="never-issued", line_user_id=user, event_time=datetime.now(UTC), messages=HELLO
        )

    status = delivery.deliver(runtime.sessions, runtime.line, message.id, datetime.now(UTC))

    assert status == "sent"
    assert platform.bot_messages(user)[-1] == HELLO[0]


def test_more_than_five_messages_are_split_into_a_reply_and_a_push(runtime, session):
    with transaction(runtime.sessions) as tx:
        rows = outbox.queue_reply(
            tx, reply_token="t", line_user_id="U1", event_time=datetime.now(UTC), messages=HELLO * 7
        )

    assert [(row.kind, len(row.messages)) for row in rows] == [("reply", 5), ("push", 2)]
    assert len({row.retry_key for row in rows}) == 2


def test_a_transient_failure_leaves_the_message_pending_for_the_sweeper(runtime, platform, session):
    user = platform.create_user("阿明")
    platform.follow(user)
    with transaction(runtime.sessions) as tx:
        (message,) = outbox.queue_push(tx, user, HELLO)
    platform.fail_next("/v2/bot/message/push", 503, times=10)
    now = datetime.now(UTC)

    status = delivery.deliver(runtime.sessions, runtime.line, message.id, now)

    assert status == "pending"
    assert outbox.due_for_delivery(session, now + timedelta(minutes=5), timedelta(seconds=60)) == [message.id]
