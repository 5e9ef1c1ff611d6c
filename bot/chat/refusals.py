"""A service's refusal as the chat says it: the shared text of its reason, in the shopper's language."""

from __future__ import annotations

from bot.refusal_texts import text_for
from bot.services.refusals import Refused


def refusal_text(refused: Refused, language: str) -> str:
    """Why the request was refused, in `language` ("zh-TW" or "en")."""
    return text_for(refused, language)
