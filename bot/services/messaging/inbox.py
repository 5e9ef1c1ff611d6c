"""The webhook inbox: every LINE event is stored once, keyed by its webhookEventId, before LINE gets its 200."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.db import insert_ignoring_conflicts
from models import WebhookEvent

log = logging.getLogger(__name__)


class MalformedWebhook(ValueError):
    """The body is signed but is not a LINE webhook payload."""


# LINE's own shapes: user ids are "U" and 32 hex digits; event ids are ULIDs (26 characters); times are ms.
LINE_USER_ID = re.compile(r"U[0-9a-f]{32}")
EVENT_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
LATEST_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: what datetime can hold
MAX_DEPTH = 32
# Characters no database column should receive: NUL (PostgreSQL refuses it) and unpaired surrogates (not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any, depth: int = 0) -> tuple[Any, str | None]:
    """The value with NUL and unpaired surrogates replaced, and why it had to be changed (None: it was clean)."""
    if depth > MAX_DEPTH:
        return None, f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, str):
        cleaned = _UNSTORABLE.sub("\ufffd", value)
        return cleaned, ("text with NUL or an unpaired surrogate" if cleaned != value else None)
    if isinstance(value, dict):
        problems: list[str] = []
        cleaned_dict = {}
        for key, item in value.items():
            clean_key, key_problem = _storable(str(key), depth + 1)
            clean_item, item_problem = _storable(item, depth + 1)
            cleaned_dict[clean_key] = clean_item
            problems += [p for p in (key_problem, item_problem) if p]
        return cleaned_dict, (problems[0] if problems else None)
    if isinstance(value, list):
        pairs = [_storable(item, depth + 1) for item in value]
        problem = next((p for _item, p in pairs if p), None)
        return [item for item, _p in pairs], problem
    if isinstance(value, float) and value != value:  # NaN: not JSON
        return None, "a number that is not a number"
    return value, None


def _occurred_at(timestamp: Any, now: datetime) -> tuple[datetime, str | None]:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        return now, "timestamp is not an integer"
    if not 0 <= timestamp <= LATEST_TIMESTAMP_MS:
        return now, "timestamp out of range"
    return datetime.fromtimestamp(timestamp / 1000, tz=UTC), None


def _inbox_row(raw: dict[str, Any], now: datetime, is_known: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The inbox row of one event. An event the bot cannot take (bad ids, unstorable text, an impossible time) is
    stored as `rejected` with the reason, so that the good events of the same request are still handled."""
    payload, problem = _storable(raw)
    if not isinstance(payload, dict):
        payload = {}
    event_id = raw.get("webhookEventId")
    if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
        problem = problem or "webhookEventId missing or malformed"
        # A stable stand-in id, so that a redelivery of the same broken event is still stored once.
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        event_id = f"rejected-{digest[:48]}"
    source = raw.get("source") if isinstance(raw.get("source"), dict) else {}
    user_id = (source or {}).get("userId")
    if user_id is not None and not (isinstance(user_id, str) and LINE_USER_ID.fullmatch(user_id)):
        problem, user_id = problem or "userId malformed", None
    occurred_at, time_problem = _occurred_at(raw.get("timestamp"), now)
    problem = problem or time_problem
    known = problem is None and is_known(raw)
    if problem is not None:
        log.warning("webhook event %s rejected: %s", event_id, problem)
        status = "rejected"
    elif not known:
        log.warning("unknown or malformed webhook event %s of type %r stored unprocessed", event_id, raw.get("type"))
        status = "skipped"
    else:
        status = "pending"
    delivery = raw.get("deliveryContext") if isinstance(raw.get("deliveryContext"), dict) else {}
    return {
        "webhook_event_id": event_id,
        "event_type": str(payload.get("type", "unknown"))[:32],
        "mode": str(payload.get("mode", "active"))[:16],
        "line_user_id": user_id,
        "occurred_at": occurred_at,
        "is_redelivery": (delivery or {}).get("isRedelivery") is True,
        "payload": payload,
        "status": status,
        "error": problem,
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
        rows.append(_inbox_row(raw, now, is_known))
    new_ids = insert_ignoring_conflicts(session, WebhookEvent.__table__, rows, key="webhook_event_id")
    return [new_id for row, new_id in zip(rows, new_ids, strict=True) if new_id and row["status"] == "pending"]
