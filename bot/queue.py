"""The task queue: Huey on Redis when REDIS_URL is set, else on a SQLite file next to the app (HUEY_SQLITE_PATH)."""

from __future__ import annotations

import os

from huey import Huey, RedisHuey, SqliteHuey

from bot.settings import Settings, queue_settings


def make_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("omo-member-bot", url=settings.redis_url)
    os.makedirs(os.path.dirname(settings.huey_sqlite_path), exist_ok=True)
    # The app database's busy timeout: the web's enqueue waits behind consumers taking jobs under a burst.
    return SqliteHuey("omo-member-bot", filename=settings.huey_sqlite_path, timeout=30)


# One queue per process, made at import: `@huey.task` in bot.tasks and `omo worker`'s consumer need it at module level.
# It reads only the queue's own settings, so importing the tasks needs none of the app's secrets.
huey = make_huey(queue_settings())
