"""Migration 0031 backfills the LINE friendship history: an unfollow at `blocked_at` for each LINE user blocked when
it runs, nothing for the others. On SQLite, or on PostgreSQL when DATABASE_URL says so (a throwaway database)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import insert, select

from bot.cli import alembic_config
from bot.db import make_engine
from models import LineFriendshipEvent, LineUser
from tests.unit.test_migrations_match_models import fresh_database_url  # noqa: F401  (a fixture)

BLOCKED_AT = datetime(2026, 10, 1, 3, 4, 5, tzinfo=UTC)


def test_users_blocked_today_get_an_unfollow_at_their_blocked_at(fresh_database_url: str) -> None:  # noqa: F811
    config = alembic_config(fresh_database_url)
    command.upgrade(config, "0030")
    engine = make_engine(fresh_database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(LineUser.__table__),
                [
                    {
                        "line_user_id": f"U{i:032x}",
                        "is_blocked": blocked,
                        "blocked_at": blocked_at,
                        "followed_at": BLOCKED_AT,
                        "rich_menu_state": "guest",
                        "created_at": BLOCKED_AT,
                    }
                    for i, (blocked, blocked_at) in enumerate(
                        [(True, BLOCKED_AT), (False, None), (True, None), (False, BLOCKED_AT)]
                    )
                ],
            )
        command.upgrade(config, "head")
        with engine.connect() as connection:
            rows = connection.execute(
                select(LineUser.line_user_id, LineFriendshipEvent.kind, LineFriendshipEvent.at).join(
                    LineUser, LineUser.id == LineFriendshipEvent.line_user_id
                )
            ).all()
    finally:
        engine.dispose()

    assert [tuple(row) for row in rows] == [(f"U{0:032x}", "unfollow", BLOCKED_AT)]
