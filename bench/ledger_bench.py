"""Ledger and purchase benchmark: how fast points move, alone and under contention.

Prints, for `post_points` (earn entries for many members), for purchases through the service (online shop, by
member number) and for spends all aimed at ONE member from many threads (the conditional UPDATE makes them queue):
operations per second and p50/p99 time per operation, then checks that every cached balance equals its ledger sum.
The database is a fresh, migrated SQLite file unless --database-url names another (at the newest migration; the
benchmark adds its own store and members).

    .venv/bin/python bench/ledger_bench.py
    DATABASE_URL=postgresql://postgres@127.0.0.1/omo_bench .venv/bin/python bench/ledger_bench.py --threads 16
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import upgrade_database
from bot.db import make_engine, make_session_factory, transaction
from bot.services.rewards.ledger import InsufficientPoints, post_points
from bot.services.rewards.purchases import PurchaseRequest, record_purchase
from bot.settings import normalise_database_url
from models import Member, MemberBalance, PointEntry, Store

TZ = ZoneInfo("Asia/Taipei")


def run_threads(threads: int, per_thread: int, work: Callable[[Session, int], None], sessions) -> list[float]:
    """Run `work` per_thread times in each of `threads` threads, one transaction each; the seconds each took."""
    took: list[float] = []
    lock = threading.Lock()

    def run(worker: int) -> None:
        mine = []
        for i in range(per_thread):
            started = time.perf_counter()
            try:
                with transaction(sessions) as session:
                    work(session, worker * per_thread + i)
            except InsufficientPoints:
                pass
            mine.append(time.perf_counter() - started)
        with lock:
            took.extend(mine)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return took


def report(label: str, took: list[float], wall: float) -> None:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"  {label:<30} {len(took) / wall:8.0f} ops/s   p50 {statistics.median(ordered) * 1000:7.2f} ms"
        f"   p99 {p99 * 1000:7.2f} ms"
    )


def timed(label: str, threads: int, per_thread: int, work: Callable[[Session, int], None], sessions) -> None:
    started = time.perf_counter()
    took = run_threads(threads, per_thread, work, sessions)
    report(label, took, time.perf_counter() - started)


def setup(sessions: sessionmaker[Session], members: int) -> tuple[int, list[tuple[int, str]]]:
    tag = uuid.uuid4().hex[:6]
    with transaction(sessions) as session:
        store = Store(code=f"B{tag}", name="bench", is_online=True)
        people = [Member(member_number=f"B{tag}{n:05d}", name="bench") for n in range(members)]
        session.add_all([store, *people])
        session.flush()
        return store.id, [(m.id, m.member_number) for m in people]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=100)
    args = parser.parse_args()
    url = args.database_url and normalise_database_url(args.database_url)
    if not url:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
        upgrade_database(url)
    engine = make_engine(url, pool_size=args.threads + 2, max_overflow=0)
    sessions = make_session_factory(engine)
    store_id, people = setup(sessions, args.threads * args.per_thread)
    now = datetime.now(UTC)
    print(f"{engine.dialect.name}, {args.threads} threads x {args.per_thread} operations")

    def earn(session: Session, n: int) -> None:
        member_id = people[n % len(people)][0]
        post_points(
            session, member_id, 10, kind="earn", reason="bench", channel="system",
            idempotency_key=f"bench:{uuid.uuid4()}", at=now,
        )  # fmt: skip

    def purchase(session: Session, n: int) -> None:
        request = PurchaseRequest(f"B-{uuid.uuid4().hex}", 1250, channel="online", member_number=people[n][1])
        record_purchase(session, store_id, request, at=now, tz=TZ)

    hot_member = people[0][0]

    def spend_one_member(session: Session, _n: int) -> None:
        post_points(
            session, hot_member, -1, kind="spend", reason="bench", channel="system",
            idempotency_key=f"bench:{uuid.uuid4()}", at=now,
        )  # fmt: skip

    timed("post_points (many members)", args.threads, args.per_thread, earn, sessions)
    timed("purchases (service)", args.threads, args.per_thread, purchase, sessions)
    timed("spends on ONE member", args.threads, args.per_thread, spend_one_member, sessions)
    with sessions() as session:
        ids = [member_id for member_id, _number in people]
        sums = dict(
            session.execute(
                select(PointEntry.member_id, func.sum(PointEntry.points))
                .where(PointEntry.member_id.in_(ids))
                .group_by(PointEntry.member_id)
            ).all()
        )
        balances = select(MemberBalance.member_id, MemberBalance.points).where(MemberBalance.member_id.in_(ids))
        cached = dict(session.execute(balances).all())
    drift = [member_id for member_id in ids if int(sums.get(member_id) or 0) != int(cached.get(member_id) or 0)]
    negative = [member_id for member_id, points in cached.items() if points < 0]
    print(f"  balances checked: {len(ids)}, drifted from the ledger: {len(drift)}, negative: {len(negative)}")
    engine.dispose()


if __name__ == "__main__":
    main()
