"""The migrations build the schema the models describe: Alembic's autogenerate finds nothing left to migrate.

Runs on SQLite, or on PostgreSQL when DATABASE_URL says so (in a throwaway database of its own, dropped afterwards, so
the suite's database is left alone)."""

from __future__ import annotations

import os
import pprint
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.cli import upgrade_database
from bot.db import make_engine
from bot.settings import normalise_database_url
from models import Base


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database beside DATABASE_URL's."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    server = make_url(normalise_database_url(url))
    name = f"omo_migrations_check_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrading_to_head_gives_the_schema_of_the_models(fresh_database_url: str) -> None:
    upgrade_database(fresh_database_url)

    engine = make_engine(fresh_database_url)
    try:
        with engine.connect() as connection:
            # Types (Alembic's default) and server defaults too: a default left in the database only is drift as well.
            options = {"compare_type": True, "compare_server_default": True}
            diff = compare_metadata(MigrationContext.configure(connection, opts=options), Base.metadata)
    finally:
        engine.dispose()

    assert diff == [], "the migrations and the models differ; write a migration for:\n" + pprint.pformat(diff)
