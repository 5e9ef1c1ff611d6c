"""A chat message as the JSON LINE takes, in one pass over the SDK model.

line-bot-sdk's `to_dict()` gives the same result, but each level of a Flex message re-serialises the whole subtree
below it with pydantic before replacing it with its own children's `to_dict()`, so a card costs many times its size:
it was a large part of the worker's CPU per answer. This walks each model once, with the same rules: fields under
their aliases, unset (None) fields left out.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic.v1 import BaseModel


def to_json(message: BaseModel) -> dict[str, Any]:
    """The message (or any SDK model) as a JSON-ready dict, equal to its `to_dict()`."""
    return _model(message)


def _model(model: BaseModel) -> dict[str, Any]:
    values = model.__dict__
    out: dict[str, Any] = {}
    for name, field in model.__fields__.items():
        value = values.get(name)
        if value is not None:
            out[field.alias] = _value(value)
    return out


def _value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _model(value)
    if isinstance(value, list | tuple):
        return [_value(item) for item in value if item is not None]
    if isinstance(value, dict):
        return {key: _value(item) for key, item in value.items() if item is not None}
    if isinstance(value, Enum):
        return value.value
    return value
