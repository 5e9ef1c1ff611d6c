"""The task queue: Huey on Redis when REDIS_URL is set, else on a SQLite file next to the app."""

from __future__ import annotations

import os

from huey import Huey, RedisHuey, SqliteHuey

from bot.settings import PROJECT_ROOT


def make_huey() -> Huey:
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return RedisHuey("omo-member-bot", url=redis_url)
    path = os.environ.get("HUEY_SQLITE_PATH") or str(PROJECT_ROOT / "instance" / "huey.sqlite3")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return SqliteHuey("omo-member-bot", filename=path)


huey = make_huey()
