"""Campaign delivery benchmark (issue 14): a campaign to 100,000 members through the task queue's worker processes
(`omo worker`, as the Procfile runs them) to a recording LINE stand-in (bench/line_standin.py) that refuses what
LINE refuses (more than 500 ids, malformed ids, a repeated retry key) and answers 429 over LINE's multicast limit
(200 calls in any second).

Prints the time to start the campaign (claimed -> every recipient and outbox row written, in steps), the multicast
calls LINE accepted (expected: members / 500), the ids delivered, the ids received more than once (must be 0), the
429s, and the rate achieved between the first and the last call against LINE's 200 a second.

    .venv/bin/python bench/campaign_delivery.py                       # SQLite, the SQLite task queue, 1 worker
    DATABASE_URL=postgresql://postgres@127.0.0.1/omo_campaignbench REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/campaign_delivery.py --consumers 2      # PostgreSQL + Redis, 2 worker processes

A PostgreSQL database is emptied first (its schema rebuilt); the SQLite one is a new file in a temporary directory.
`--coupon` issues a coupon to every recipient (much slower to start: several statements a coupon). `--narrowcast`
delivers by LINE narrowcast instead: the audience uploaded 10,000 IDs a call, then one narrowcast to it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-channel-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def outside_quiet_hours() -> str:
    """Taipei, or when it is night there (no marketing pushes 22:00-09:00), a zone where it is day: the bench runs at
    any hour."""
    from zoneinfo import ZoneInfo

    for zone in ("Asia/Taipei", "Europe/London", "America/New_York", "America/Los_Angeles", "Pacific/Auckland"):
        if 9 <= datetime.now(ZoneInfo(zone)).hour < 21:
            return zone
    return "Asia/Taipei"


def get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return json.loads(answer.read())


def wait_until_up(port: int, path: str) -> None:
    for _ in range(200):
        try:
            get(port, path)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing answers on port {port}")


def seed(database_url: str, members: int, coupon: bool, delivery: str = "multicast") -> int:
    """Members (bound, consenting), a segment of everyone, and a campaign due now; the campaign's id."""
    from sqlalchemy import func, insert, select, text

    from bot.db import make_engine, make_session_factory, transaction
    from bot.services.marketing.campaigns import Draft, create_campaign
    from models import Consent, CouponTemplate, LineUser, Member, Segment

    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        from models import Base

        with engine.begin() as connection:
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    step = 10_000
    with transaction(sessions) as session:
        user_ids = [f"U{number:032x}" for number in range(1, members + 1)]
        for start in range(0, members, step):
            rows = [{"line_user_id": u, "display_name": "好友"} for u in user_ids[start : start + step]]
            session.execute(insert(LineUser.__table__), rows)
        line_ids = {u: i for u, i in session.execute(select(LineUser.line_user_id, LineUser.id))}
        for start in range(0, members, step):
            rows = [
                {"member_number": f"C{start + i + 1:08d}", "name": f"會員{start + i + 1}", "line_user_id": line_ids[u]}
                for i, u in enumerate(user_ids[start : start + step])
            ]
            session.execute(insert(Member.__table__), rows)
        member_ids = list(session.scalars(select(Member.id).order_by(Member.id)))
        consent = {"terms_version": "v1", "privacy_version": "v1", "marketing_opt_in": True, "channel": "line"}
        for start in range(0, members, step):
            session.execute(
                insert(Consent.__table__), [{"member_id": m, **consent} for m in member_ids[start : start + step]]
            )
    with transaction(sessions) as session:
        segment = Segment(
            name="全部會員", definition={"type": "tier", "tiers": ["regular", "silver", "gold"]}, updated_at=now
        )
        session.add(segment)
        template_id = None
        if coupon:
            template = CouponTemplate(
                code="BENCH50",
                name="滿 300 折 50",
                kind="amount_off",
                value=50,
                min_spend=300,
                valid_days_after_issue=30,
            )
            session.add(template)
            session.flush()
            template_id = template.id
        session.flush()
        draft = Draft(
            name="週年慶",
            segment_id=segment.id,
            variants=[{"kind": "text", "text": "週年慶全館 85 折，門市與線上同步"}],
            coupon_template_id=template_id,
            delivery=delivery,
        )
        campaign_id = create_campaign(session, draft, staff_id=None, at=now).id
        count = session.scalar(select(func.count()).select_from(Member))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))  # planner statistics, as a database in use has them
    print(f"seeded {count:,} members in {time.perf_counter() - started:.1f} s")
    engine.dispose()
    return campaign_id


def campaign_times(database_url: str, campaign_id: int) -> tuple[datetime | None, datetime | None]:
    from bot.db import make_engine, make_session_factory
    from models import Campaign

    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        campaign = session.get(Campaign, campaign_id)
        times = (campaign.started_at, campaign.prepared_at) if campaign else (None, None)
    engine.dispose()
    return times


def _report_narrowcast(port: int, database_url: str, campaign_id: int, args: argparse.Namespace, began: float) -> None:
    """Wait for the narrowcast to be sent, then print its audience uploads, its size against the members and the time
    from the job to LINE accepting it."""
    sends: list[dict[str, Any]] = []
    stats: dict[str, Any] = {}
    while time.perf_counter() - began < args.timeout and not sends:
        stats = get(port, "/_narrowcast")
        sends = stats["narrowcasts"]
        time.sleep(0.2)
    total = time.perf_counter() - began
    time.sleep(1)  # a second narrowcast would show now
    stats = get(port, "/_narrowcast")
    started_at, prepared_at = campaign_times(database_url, campaign_id)
    print(f"{args.members:,} members by narrowcast{' with a coupon each' if args.coupon else ''}")
    if started_at and prepared_at:
        seconds = (prepared_at - started_at).total_seconds()
        print(f"  claimed -> audience uploaded and narrowcast recorded: {seconds:.1f} s")
    reached = [send["reached"] for send in stats["narrowcasts"]]
    print(f"  audience upload calls: {stats['uploads']} (at most 10,000 IDs each)")
    print(f"  narrowcasts accepted: {len(reached)} (expected 1), to audiences of {reached or 'none'} users")
    print(f"  job enqueued -> narrowcast accepted: {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--consumers", type=int, default=1, help="omo worker processes (more than 1: Redis only)")
    parser.add_argument("--worker-threads", type=int, default=4, help="omo worker --workers (the Procfile's)")
    parser.add_argument("--coupon", action="store_true", help="a coupon issued to every recipient")
    parser.add_argument("--narrowcast", action="store_true", help="deliver by LINE narrowcast to an uploaded audience")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="omo-campaign-bench-"))
    standin_port = free_port()
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN="bench-token",
        LINE_API_BASE_URL=f"http://127.0.0.1:{standin_port}",
        HUEY_SQLITE_PATH=str(workdir / "huey.sqlite3"),
        MARKETING_PUSHES_PER_WEEK="100",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    env.setdefault("TIMEZONE", outside_quiet_hours())
    print(f"brand time zone {env['TIMEZONE']} (campaigns wait out 22:00-09:00 there)")
    if args.consumers > 1 and not env.get("REDIS_URL"):
        raise SystemExit("more than one worker process needs REDIS_URL (the SQLite queue and limiter are per machine)")
    os.environ.update(env)  # this process enqueues the job on the same queue the workers read
    from bot.settings import normalise_database_url

    database_url = normalise_database_url(env["DATABASE_URL"])
    bin_dir = Path(sys.executable).parent
    standin = subprocess.Popen([sys.executable, str(ROOT / "bench" / "line_standin.py"), "--port", str(standin_port)])
    workers: list[subprocess.Popen[bytes]] = []
    try:
        wait_until_up(standin_port, "/_stats")
        subprocess.run([bin_dir / "omo", "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
        campaign_id = seed(database_url, args.members, args.coupon, "narrowcast" if args.narrowcast else "multicast")
        consumer = [str(bin_dir / "omo"), "worker", "--workers", str(args.worker_threads)]
        log = (workdir / "workers.log").open("ab")
        for n in range(args.consumers):
            command = consumer if n == 0 else [*consumer, "--no-periodic"]
            workers.append(subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log))
        from bot import tasks

        time.sleep(2)  # the workers start
        began = time.perf_counter()
        tasks.send_due_campaigns()  # what the minute tick would do, now
        if args.narrowcast:
            _report_narrowcast(standin_port, database_url, campaign_id, args, began)
            return
        expected = -(-args.members // 500)
        stats: dict[str, Any] = {}
        while time.perf_counter() - began < args.timeout:
            stats = get(standin_port, "/_multicast")
            if stats["calls"] >= expected:
                break
            time.sleep(0.2)
        total = time.perf_counter() - began
        time.sleep(1)  # a late duplicate would show now
        stats = get(standin_port, "/_multicast")
        started_at, prepared_at = campaign_times(database_url, campaign_id)
        database = database_url.split(":", 1)[0].split("+")[0]
        queue = "redis" if env.get("REDIS_URL") else "sqlite"
        print(
            f"{args.members:,} members{' with a coupon each' if args.coupon else ''}; {database}, {queue} queue, "
            f"{args.consumers} worker process(es) x {args.worker_threads} threads"
        )
        if started_at and prepared_at:
            print(f"  time to start (claimed -> all rows written): {(prepared_at - started_at).total_seconds():.1f} s")
        else:
            print("  the campaign did not finish starting")
        span = (stats["last"] - stats["first"]) if stats["calls"] > 1 else 0.0
        rate = (stats["calls"] - 1) / span if span else 0.0
        print(
            f"  multicast calls accepted: {stats['calls']} (expected {expected}); refused: {stats['refused'] or 'none'}"
        )
        print(
            f"  ids delivered: {stats['ids']:,} ({stats['unique_ids']:,} different); duplicates: {stats['duplicates']}"
        )
        print(f"  rate: {rate:.0f} calls/s over {span:.2f} s = {rate / 200:.0%} of LINE's 200/s")
        print(f"  job enqueued -> last multicast: {total:.1f} s")
    finally:
        for process in [*workers, standin]:
            process.terminate()
        for process in [*workers, standin]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
