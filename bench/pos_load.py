"""POS API benchmark: many counters at once against the POS API served as the Procfile serves it, beside a reference
(a bare Flask view on the same gunicorn settings answering one primary-key SELECT), in alternating rounds.

Half the requests look a member up by member number (GET /api/v1/members/<number>), half record an online purchase
(POST /api/v1/purchases, a new transaction id each), spread over imported members. Prints requests per second and
p50/p99 per kind. Nothing here calls LINE (purchases may queue messages; no worker runs).

    .venv/bin/python bench/pos_load.py                                           # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1/omo_bench .venv/bin/python bench/pos_load.py   # PostgreSQL
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhook_load import free_port, percentile, wait_until_up

ROOT = Path(__file__).resolve().parent.parent

SETUP = """
import sys
from datetime import UTC, datetime
from sqlalchemy import select
from bot.db import make_engine, make_session_factory, transaction
from bot.services.staff.api_keys import create_api_key
from bot.settings import Settings
from models import Member, Store

settings = Settings.from_env()
sessions = make_session_factory(make_engine(settings.database_url))
members = int(sys.argv[1])
with transaction(sessions) as session:
    online = session.scalars(select(Store).where(Store.code == "WEB")).one_or_none()
    if online is None:
        session.add(Store(code="WEB", name="網路商店", is_online=True))
        session.flush()
    have = set(session.scalars(select(Member.member_number)))
    session.add_all(
        Member(member_number=f"B{n:06d}", name=f"會員{n}", phone_e164=f"+8869{n:08d}", source="import")
        for n in range(members) if f"B{n:06d}" not in have
    )
    _key, raw = create_api_key(session, store_code="WEB", name="bench", now=datetime.now(UTC),
                               scopes=("scan", "coupons", "members"))
print(raw)
"""


def reference_app() -> str:
    return "bench.pos_reference:app"


def run(port: int, key: str, members: int, requests: int, concurrency: int, reference: bool) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {"look-up": [], "purchase": [], "failed": []}
    lock = threading.Lock()
    cursor = iter(range(requests))
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def counter() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random()
        while True:
            with lock:
                n = next(cursor, None)
            if n is None:
                break
            number = f"B{rng.randrange(members):06d}"
            if n % 2 == 0:
                kind, method, path, body = "look-up", "GET", f"/api/v1/members/{number}", None
            else:
                payload = {"transaction_id": uuid.uuid4().hex, "amount": rng.randrange(50, 2000),
                           "channel": "online", "member_number": number}  # fmt: skip
                kind, method, path, body = "purchase", "POST", "/api/v1/purchases", json.dumps(payload)
            if reference:
                path = f"/ref/{number}" if kind == "look-up" else "/ref/purchase"
            started = time.perf_counter()
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies[kind if response.status in (200, 201) else "failed"].append(elapsed)

    threads = [threading.Thread(target=counter) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies["wall"] = [time.perf_counter() - started]
    return latencies


def describe(name: str, result: dict[str, list[float]]) -> str:
    done = len(result["look-up"]) + len(result["purchase"])
    parts = [f"{name:9} {done / result['wall'][0]:7.1f} requests/s"]
    for kind in ("look-up", "purchase"):
        values = result[kind]
        parts.append(
            f"{kind} p50 {percentile(values, 0.5) * 1000:6.1f} ms p99 {percentile(values, 0.99) * 1000:6.1f} ms"
        )
    parts.append(f"failed {len(result['failed'])}")
    return " | ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000, help="requests per round")
    parser.add_argument("--concurrency", type=int, default=50, help="counters at once")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers (the Procfile's WEB_CONCURRENCY)")
    parser.add_argument("--web-threads", type=int, default=2, help="gunicorn threads per worker (the Procfile's)")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (gthread, sync, ...)")
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    workdir = Path(tempfile.mkdtemp(prefix="omo-pos-bench-"))
    port, reference_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        LINE_CHANNEL_SECRET="bench-channel-secret",
        LINE_API_BASE_URL="http://127.0.0.1:9",  # nothing listens: no LINE call is made by the POS API
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        HUEY_SQLITE_PATH=str(workdir / "huey.sqlite3"),
        POS_RATE_LIMIT="100000/minute",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    subprocess.run([bin_dir / "omo", "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    key = subprocess.run(
        [sys.executable, "-c", SETUP, str(args.members)], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    # The Procfile's gunicorn.conf.py spreads connections over the workers (reuse_port): so do both targets here.
    gunicorn = [str(bin_dir / "gunicorn"), "--workers", str(args.web_workers), "--threads", str(args.web_threads),
                "--worker-class", args.worker_class, "--log-level", "warning", "--no-control-socket",
                "--reuse-port"]  # fmt: skip
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen([*gunicorn, "bot.wsgi:app", "--bind", f"127.0.0.1:{port}"], env=env, cwd=ROOT, **quiet),
        subprocess.Popen(
            [*gunicorn, "bench.pos_reference:app", "--bind", f"127.0.0.1:{reference_port}"], env=env, cwd=ROOT, **quiet
        ),
    ]
    try:
        wait_until_up(port)
        wait_until_up(reference_port)
        run(port, key, args.members, 200, args.concurrency, False)  # warm-up
        run(reference_port, key, args.members, 200, args.concurrency, True)
        database = env["DATABASE_URL"].split(":", 1)[0]
        print(f"POS API: {args.requests} requests a round (half look-ups, half online purchases) over "
              f"{args.members} members, {args.concurrency} counters at once, database {database}, gunicorn "
              f"{args.web_workers} x {args.web_threads} {args.worker_class}; reference: a bare Flask view and one "
              "SELECT by primary key on the same gunicorn")  # fmt: skip
        rates: dict[str, list[float]] = {"bot": [], "reference": []}
        for n in range(args.rounds):
            for name, target, reference in (("POS API", port, False), ("reference", reference_port, True)):
                result = run(target, key, args.members, args.requests, args.concurrency, reference)
                done = len(result["look-up"]) + len(result["purchase"])
                rates["bot" if not reference else "reference"].append(done / result["wall"][0])
                print(f"  round {n + 1} {describe(name, result)}", flush=True)
        bot, ref = statistics.median(rates["bot"]), statistics.median(rates["reference"])
        print(f"medians: POS API {bot:.1f} requests/s, reference {ref:.1f} requests/s, ratio {bot / ref:.2f}")
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        for process in processes:
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
