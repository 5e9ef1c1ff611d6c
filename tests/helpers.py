"""Small helpers shared by tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def sign(body: bytes, channel_secret: str) -> str:
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def post_signed_webhook(client: Any, channel_secret: str, body: bytes) -> Any:
    """POST a webhook body to /callback signed as LINE signs it, through the Flask test client."""
    headers = {"X-Line-Signature": sign(body, channel_secret)}
    return client.post("/callback", data=body, content_type="application/json", headers=headers)


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# A bubble's blocks in the order LINE shows them; other keys keep their order. PostgreSQL keeps a message's JSON as
# JSONB, which does not keep key order, so the order a user reads comes from here, not from the stored dict.
_SHOWN_ORDER = {"header": 0, "hero": 1, "body": 2, "footer": 3}


def texts(messages: list[dict]) -> list[str]:
    """The text of every text message, and of every text inside Flex messages, in the order a user reads them."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for key in sorted(node, key=lambda key: _SHOWN_ORDER.get(key, -1)):
                walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(messages)
    return found


def in_unit_of_work(runtime: Any, work: Any, *, send: bool = True) -> tuple[Any, Any]:
    """Run `work(uow)` in a unit of work as an entry point does; its result, and what it handed on after the commit
    (outbox ids to send, menus to relink), which is also sent as the app would unless `send` is False."""
    from bot.uow import AfterCommit, unit_of_work

    handed_on = AfterCommit()
    queue = runtime.after_commit

    def keep_and_queue(after: AfterCommit) -> None:
        handed_on.outbox_ids.extend(after.outbox_ids)
        handed_on.menu_users.extend(after.menu_users)
        if send:
            queue(after)

    with unit_of_work(runtime, after_commit=keep_and_queue) as uow:
        result = work(uow)
    return result, handed_on
