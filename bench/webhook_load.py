"""Webhook load benchmark: signed follow and text events against the app served by gunicorn.

Prints events per second and the p50/p99 answer time of POST /callback. LINE must not be load-tested, so the
app runs with its local LINE platform; by default no queue consumer runs, which measures the webhook's own work
(verify, store once, enqueue). `--with-worker` also runs `omo worker`, so replies are sent while the load runs.

    .venv/bin/python bench/webhook_load.py --events 2000 --concurrency 16
    DATABASE_URL=postgresql://postgres@127.0.0.1/omo_bench .venv/bin/python bench/webhook_load.py
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-channel-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def event(kind: str, user_id: str, n: int) -> dict:
    base = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
    }
    if kind == "follow":
        base["follow"] = {"isUnblocked": False}
    else:
        base["message"] = {"id": str(n), "type": "text", "text": f"集點卡 🍞 #{n}", "quoteToken": uuid.uuid4().hex}
    return base


def signed(events: list[dict]) -> tuple[bytes, str]:
    body = json.dumps({"destination": "Ubench", "events": events}, ensure_ascii=False).encode()
    return body, base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


def run_load(port: int, bodies: list[tuple[bytes, str]], concurrency: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))

    def client() -> None:
        nonlocal failures
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            body, signature = bodies[index]
            started = time.perf_counter()
            conn.request("POST", "/callback", body, {"Content-Type": "application/json", "X-Line-Signature": signature})
            response = conn.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                failures += response.status != 200

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--with-worker", action="store_true")
    args = parser.parse_args()

    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="omo-bench-"))
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN="bench-token",
        LINE_API_BASE_URL=f"http://127.0.0.1:{port}/dev/line-not-running",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        HUEY_SQLITE_PATH=str(workdir / "huey.sqlite3"),
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "omo", "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    gunicorn = subprocess.Popen(
        [bin_dir / "gunicorn", "bot.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers",
         str(args.gunicorn_workers), "--threads", str(args.threads), "--log-level", "warning"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    worker = subprocess.Popen([bin_dir / "omo", "worker"], env=env, cwd=ROOT) if args.with_worker else None
    try:
        wait_until_up(port)
        users = [f"U{uuid.uuid4().hex}" for _ in range(max(1, args.events // 4))]
        bodies = [
            signed([event("follow" if n % 4 == 0 else "message", users[n % len(users)], n)]) for n in range(args.events)
        ]
        run_load(port, bodies[: min(100, len(bodies))], args.concurrency)  # warm-up, not counted
        latencies, failures, wall = run_load(port, bodies, args.concurrency)
    finally:
        gunicorn.terminate()
        if worker:
            worker.terminate()
        gunicorn.wait()
        # The queued jobs belong to this run only: leave no work behind in a shared Redis.
        flush = "from bot.queue import huey; huey.flush()"
        subprocess.run([sys.executable, "-c", flush], env=env, cwd=ROOT, check=True)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    database = env["DATABASE_URL"].split(":", 1)[0]
    queue = "redis" if env.get("REDIS_URL") else "sqlite"
    print(f"webhook load: {len(latencies)} signed events, concurrency {args.concurrency}, database {database}, "
          f"queue {queue}, gunicorn {args.gunicorn_workers}x{args.threads} threads")  # fmt: skip
    print(f"  throughput   {len(latencies) / wall:8.1f} events/s")
    print(f"  answer p50   {statistics.median(latencies) * 1000:8.1f} ms")
    print(f"  answer p99   {p99 * 1000:8.1f} ms")
    print(f"  answer max   {latencies[-1] * 1000:8.1f} ms")
    print(f"  non-200      {failures}")


if __name__ == "__main__":
    main()
