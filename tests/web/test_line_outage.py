"""A 15-minute LINE outage (simulated with the clock): events are handled all along, their answers wait in the
outbox, and once LINE is back every answer goes out exactly once (issue 10)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import tasks
from models import OutboundMessage, WebhookEvent

MESSAGE_PATHS = ("/v2/bot/message/reply", "/v2/bot/message/push", "/v2/bot/message/multicast")


def test_a_fifteen_minute_outage_loses_no_answer_and_events_keep_being_handled(runtime, platform, session, clock):
    runtime.line.breaker.clock = lambda: clock.now().timestamp()
    platform.clock = clock.now
    users = [platform.create_user(f"客人{n}") for n in range(2)]
    for user in users:
        platform.follow(user)
    answered_before = {user: len(platform.bot_messages(user)) for user in users}
    for path in MESSAGE_PATHS:
        platform.fail_next(path, 500, times=1_000_000)

    start, events = clock.now(), 0
    while clock.now() < start + timedelta(minutes=15):
        for user in users:
            assert platform.send_text(user, "我的點數").status == 200
            events += 1
        tasks.sweep_stalled_work.call_local()
        session.expire_all()
        waiting = session.scalars(select(WebhookEvent).where(WebhookEvent.status != "done")).all()
        assert waiting == [], "events are handled during the outage"
        clock.advance(seconds=30)

    session.expire_all()
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.webhook_event_id.is_not(None))).all()
    assert {row.status for row in rows if row.created_at > start - timedelta(seconds=1)} <= {"pending", "sent"}
    assert runtime.line.breaker.state in ("open", "half-open")

    with platform.lock:
        platform._failures.clear()  # LINE is back
    for _ in range(15):  # the sweep, once a minute, for a quarter of an hour
        clock.advance(minutes=1)
        tasks.sweep_stalled_work.call_local()

    session.expire_all()
    answers = session.scalars(
        select(OutboundMessage).join(WebhookEvent).where(WebhookEvent.event_type == "message")
    ).all()
    assert len({row.webhook_event_id for row in answers}) == events
    assert {row.status for row in answers} == {"sent"}
    accepted = [r for r in platform.requests if r["path"].endswith("/push") and r["status"] == 200]
    assert sorted(r["retry_key"] for r in accepted) == sorted(
        row.retry_key for row in answers if row.kind == "push" or row.delivered_via == "push"
    )
    delivered = sum(len(platform.bot_messages(user)) - answered_before[user] for user in users)
    assert delivered == sum(len(row.messages) for row in answers), "every answer once, none twice"


def test_healthz_detail_shows_the_backlog_without_personal_data(runtime, platform, client, clock):
    user = platform.create_user("阿明")
    platform.follow(user)
    platform.fail_next("/v2/bot/message/reply", 500, times=10)
    platform.fail_next("/v2/bot/message/push", 500, times=10)
    platform.send_text(user, "我的點數")

    plain = client.get("/healthz").get_json()
    detail = client.get("/healthz?detail=1").get_json()

    assert plain == {"status": "ok"}
    assert detail["status"] == "ok"
    assert detail["events_waiting"] == 0
    assert detail["outbox_pending"] >= 1
    assert detail["line_circuit"] == "closed"
    assert user not in str(detail)
    assert set(detail) >= {"queue_depth", "oldest_waiting_event_seconds", "push_share_last_hour"}
