"""The webhook inbox: every LINE event is stored once, keyed by its webhookEventId, before LINE gets its 200."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from models import WebhookEvent

log = logging.getLogger(__name__)


class MalformedWebhook(ValueError):
    """The body is signed but is not a LINE webhook payload."""


def _inbox_row(raw: dict[str, Any], now: datetime, is_known: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    event_id = raw.get("webhookEventId")
    if not isinstance(event_id, str) or not event_id:
        log.warning("webhook event without webhookEventId dropped: type=%s", raw.get("type"))
        return None
    known = is_known(raw)
    if not known:
        log.warning("unknown or malformed webhook event %s of type %r stored unprocessed", event_id, raw.get("type"))
    timestamp = raw.get("timestamp")
    occurred_at = datetime.fromtimestamp(timestamp / 1000, tz=UTC) if isinstance(timestamp, int) else now
    source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    delivery = raw.get("deliveryContext") if isinstance(raw.get("deliveryContext"), dict) else {}
    return {
        "webhook_event_id": event_id[:64],
        "event_type": str(raw.get("type", "unknown"))[:32],
        "mode": str(raw.get("mode", "active"))[:16],
        "line_user_id": (source or {}).get("userId"),
        "occurred_at": occurred_at,
        "is_redelivery": bool((delivery or {}).get("isRedelivery", False)),
        "payload": raw,
        "status": "pending" if known else "skipped",
        "attempts": 0,
        "created_at": now,
    }


def record_webhook(
    session: Session, payload: Any, now: datetime, is_known: Callable[[dict[str, Any]], bool]
) -> list[int]:
    """Store each event of a verified webhook body once; return the inbox ids of events not seen before.

    `is_known` says whether the bot can read an event (the webhook asks line-bot-sdk); others are kept unprocessed."""
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise MalformedWebhook("a webhook body is an object with an events list")
    rows = []
    for raw in payload["events"]:
        if not isinstance(raw, dict):
            log.warning("webhook event that is not an object dropped")
            continue
        row = _inbox_row(raw, now, is_known)
        if row is not None:
            rows.append(row)
    new_ids = insert_ignoring_conflicts(session, WebhookEvent.__table__, rows)
    return [new_id for row, new_id in zip(rows, new_ids, strict=True) if new_id and row["status"] == "pending"]
