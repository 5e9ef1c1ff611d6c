"""How far behind the bot is: waiting events, the oldest one's age, the outbox, and how many answers missed their
reply token and went out as pushes (LINE bills pushes against the monthly quota). Counts only, never personal data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import OutboundMessage, WebhookEvent

# The answers counted for the share of pushes: those sent within this window.
PUSH_SHARE_WINDOW = timedelta(hours=1)


def backlog_report(session: Session, now: datetime) -> dict[str, Any]:
    """Waiting events and their oldest's age in seconds, outbox counts by state, and the share of the answers to
    events sent in the last hour that went out as pushes instead of replies (None when there were none)."""
    waiting, oldest = session.execute(
        select(func.count(), func.min(WebhookEvent.created_at)).where(WebhookEvent.status == "pending")
    ).one()
    outbox = dict(
        session.execute(
            select(OutboundMessage.status, func.count())
            .where(OutboundMessage.status.in_(("pending", "sending")))
            .group_by(OutboundMessage.status)
        ).all()
    )
    answers = dict(
        session.execute(
            select(OutboundMessage.delivered_via, func.count())
            .where(
                OutboundMessage.kind == "reply",
                OutboundMessage.status == "sent",
                OutboundMessage.sent_at >= now - PUSH_SHARE_WINDOW,
            )
            .group_by(OutboundMessage.delivered_via)
        ).all()
    )
    answered = sum(answers.values())
    undeliverable = session.scalar(
        select(func.count()).where(
            OutboundMessage.status.in_(("failed", "unknown")), OutboundMessage.sent_at >= now - PUSH_SHARE_WINDOW
        )
    )
    return {
        "events_waiting": int(waiting),
        "oldest_waiting_event_seconds": round((now - oldest).total_seconds(), 1) if oldest is not None else None,
        "outbox_pending": int(outbox.get("pending", 0)),
        "outbox_sending": int(outbox.get("sending", 0)),
        "answers_last_hour": answered,
        "push_share_last_hour": round(answers.get("push", 0) / answered, 3) if answered else None,
        "failed_or_unknown_last_hour": int(undeliverable or 0),
    }
