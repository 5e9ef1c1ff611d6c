"""The task queue is built from Settings: Redis when REDIS_URL is set, else a SQLite file."""

from __future__ import annotations

from pathlib import Path

from huey import RedisHuey, SqliteHuey

from bot.queue import make_huey
from bot.settings import Settings, default_huey_sqlite_path, queue_settings


def test_a_redis_url_gives_a_queue_on_redis(tmp_path: Path) -> None:
    huey = make_huey(Settings(redis_url="redis://127.0.0.1:6379/5", huey_sqlite_path=str(tmp_path / "unused.sqlite3")))

    assert isinstance(huey, RedisHuey)
    assert huey.storage.conn.connection_pool.connection_kwargs["db"] == 5  # no connection is made until a task runs
    assert not (tmp_path / "unused.sqlite3").exists()


def test_without_a_redis_url_the_queue_is_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "queue" / "huey.sqlite3"

    huey = make_huey(Settings(redis_url=None, huey_sqlite_path=str(path)))

    assert isinstance(huey, SqliteHuey)
    assert huey.storage.filename == str(path)


def test_the_queue_settings_are_read_as_the_app_reads_them_without_its_secrets(tmp_path: Path) -> None:
    env = {"REDIS_URL": "redis://cache:6379/0", "HUEY_SQLITE_PATH": str(tmp_path / "q.sqlite3")}

    queue = queue_settings(env)  # production, and none of the secrets from_env would insist on

    assert (queue.redis_url, queue.huey_sqlite_path) == ("redis://cache:6379/0", str(tmp_path / "q.sqlite3"))
    app = Settings.from_env({**env, "APP_ENV": "test"})
    assert (app.redis_url, app.huey_sqlite_path) == (queue.redis_url, queue.huey_sqlite_path)
    assert queue_settings({"REDIS_URL": ""}).redis_url is None
    assert queue_settings({}).huey_sqlite_path == default_huey_sqlite_path()
