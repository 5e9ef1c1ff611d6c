"""The `omo` command: migrations, demo data, the worker and the development server."""

from __future__ import annotations

import os
from pathlib import Path

import click
from alembic import command
from alembic.config import Config

from bot.settings import PROJECT_ROOT, Settings


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str) -> None:
    """Bring the database schema to the newest migration."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), "head")


@click.group()
def main() -> None:
    """OMO Member Bot."""


@main.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (the Procfile's release step)."""
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    click.echo("database is at the newest migration")


@main.command("seed-demo")
def seed_demo() -> None:
    """Add a demo store, clerks and members (safe to run again)."""
    from bot.db import make_engine, make_session_factory, transaction
    from bot.services.demo import seed_demo_data

    settings = Settings.from_env()
    with transaction(make_session_factory(make_engine(settings.database_url))) as session:
        added = seed_demo_data(session)
    click.echo(f"demo data ready ({added} rows added)")


@main.command()
@click.option("--workers", default=2, show_default=True, help="worker threads")
def worker(workers: int) -> None:
    """Run the task-queue consumer (the Procfile's worker)."""
    from huey.consumer_options import ConsumerConfig

    from bot.tasks import huey

    # A short poll interval keeps replies quick on the SQLite queue; Redis blocks on its list instead.
    config = ConsumerConfig(workers=workers, worker_type="thread", periodic=True, max_delay=0.5)
    config.setup_logger()
    huey.create_consumer(**config.values).run()


@main.command()
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), show_default="8000")
def dev(port: int) -> None:
    """Serve the app with Flask's threaded development server."""
    from bot.app import create_app

    create_app().run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
