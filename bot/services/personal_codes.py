"""Personal codes people read aloud and type: a shopper's invite code, a clerk's referral code.

One code per owner, made on first use: random letters and digits without look-alikes, unique in their table, and
safe when the owner's two requests ask at once (the loser finds the winner's code).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud and typed without mistakes
ATTEMPTS = 5

Row = TypeVar("Row")


def code_of(session: Session, model: type[Row], owner: str, owner_id: int, at: datetime, length: int) -> Row:
    """The owner's row in `model` (a table with `code`, `created_at` and the owner column `owner`), made now with
    a new random code of `length` characters if they have none yet."""
    column: Any = getattr(model, owner)
    found = session.scalars(select(model).where(column == owner_id)).one_or_none()
    if found is not None:
        return found
    for _attempt in range(ATTEMPTS):
        code = "".join(secrets.choice(ALPHABET) for _ in range(length))
        try:
            with session.begin_nested():
                row = model(**{owner: owner_id, "code": code, "created_at": at})
                session.add(row)
                session.flush()
            return row
        except IntegrityError:  # the owner's other request made one, or the code was taken: look again
            found = session.scalars(select(model).where(column == owner_id)).one_or_none()
            if found is not None:
                return found
    raise RuntimeError(f"no free {model.__name__} code after {ATTEMPTS} attempts")
