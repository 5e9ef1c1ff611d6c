"""A burst of events from many users: every one is answered, each exactly once, by reply."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from models import OutboundMessage, WebhookEvent

USERS = 200
EVENTS_PER_BODY = 10  # LINE may put several events in one webhook request


def test_a_burst_of_200_events_from_200_users_is_answered_once_each(platform, session):
    users = [platform.create_user(f"顧客{n}") for n in range(USERS)]
    events = [platform.build_event("message", user, text="會員卡") for user in users]
    bodies = [events[i : i + EVENTS_PER_BODY] for i in range(0, USERS, EVENTS_PER_BODY)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda batch: platform.deliver(batch).status, bodies))

    assert statuses == [200] * len(bodies)
    assert session.scalar(select(func.count()).select_from(WebhookEvent).where(WebhookEvent.status == "done")) == USERS
    for user in users:
        answers = [entry for entry in platform.chat(user) if entry["from"] == "bot"]
        assert len(answers) >= 1, "every user got an answer"
        assert {answer["via"] for answer in answers} == {"reply"}, "answered by reply, never as a push"
    sent = session.scalars(select(OutboundMessage.status)).all()
    assert len(sent) == USERS and set(sent) == {"sent"}, "one reply row each, delivered once"
    assert len({event["replyToken"] for event in events}) == USERS
