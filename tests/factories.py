"""Test data, made through the same services the app uses."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.services.membership import binding, members
from bot.services.membership.line_users import find_line_user
from models import Member


def make_member(
    sessions: sessionmaker[Session],
    *,
    name: str = "林怡君",
    phone: str = "+886912345678",
    birthday: date | None = date(1990, 3, 14),
    bound_to: str | None = None,
) -> Member:
    """A member (bound to the stored LINE user `bound_to` when given)."""
    with transaction(sessions) as session:
        member = members.create_member(session, name=name, phone_e164=phone, birthday=birthday, source="pos_import")
        if bound_to is not None:
            line_user = find_line_user(session, bound_to)
            assert line_user is not None, "follow first so the LINE user exists"
            binding.bind(session, member, line_user, channel="api", at=datetime.now(UTC))
        return member
