"""Small helpers shared by tests."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def sign(body: bytes, channel_secret: str) -> str:
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def texts(messages: list[dict]) -> list[str]:
    """The text of every text message, and of every text inside Flex messages, in order."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(messages)
    return found
