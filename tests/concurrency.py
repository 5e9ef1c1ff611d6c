"""Running the same work in many threads at once, each in its own transaction, to test what the database allows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.refusal_texts import text_for
from bot.services.refusals import Refused


def race(sessions: sessionmaker[Session], racers: int, work: Callable[[Session, int, Callable[[], Any]], str]) -> list:
    """Run `work` in `racers` threads started together, each in its own transaction; their answers or errors."""
    start = threading.Barrier(racers, timeout=30)
    decided = threading.Barrier(racers, timeout=30)
    on_postgres = sessions.kw["bind"].dialect.name == "postgresql"
    results: list[Any] = [None] * racers

    def all_have_read() -> None:
        if on_postgres:
            decided.wait()

    def run(i: int) -> None:
        start.wait()
        try:
            with transaction(sessions) as tx:
                results[i] = work(tx, i, all_have_read)
        except Refused as exc:
            results[i] = text_for(exc)
        except Exception as exc:  # pragma: no cover - reported by the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
