"""Webhook benchmark, end to end: signed text events from many users against the bot started as its Procfile starts
it (release, web, worker), until every answer has reached LINE — played by a recording stand-in on this machine
(bench/line_standin.py) — beside a bare line-bot-sdk v3 echo webhook (bench/echo_app.py) on the same gunicorn
settings, in alternating rounds of the same run.

For each round it prints the webhook's answers per second and p50/p99, the answers that reached the stand-in per
second (end to end) and their latency from the webhook's arrival, how many went out as pushes, reply tokens used
twice and answers missing; then the medians, the ratio bot / echo (end to end), an idle-system latency (one event
at a time) and the RSS of every process. Nothing here calls the real LINE platform.

    .venv/bin/python bench/webhook_load.py                                  # SQLite database and queue
    .venv/bin/python bench/webhook_load.py --rate 100                       # paced: latencies at 100 events/s
    DATABASE_URL=postgresql://postgres@127.0.0.1/omo_bench REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/webhook_load.py                              # PostgreSQL + Redis
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-channel-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def text_event(user_id: str, n: int) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
        "message": {"id": str(n), "type": "text", "text": f"集點卡 🍞 #{n}", "quoteToken": uuid.uuid4().hex},
    }


def signed(events: list[dict]) -> tuple[bytes, str]:
    body = json.dumps({"destination": "Ubench", "events": events}, ensure_ascii=False).encode()
    return body, base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def call(port: int, method: str, path: str, body: bytes | None = None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body)
    answer = json.loads(conn.getresponse().read() or b"{}")
    conn.close()
    return answer if isinstance(answer, dict) else {}


def wait_until_up(port: int, path: str = "/healthz", timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (for gunicorn and `omo worker --processes`: the master and its workers)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def rss_mib(pid: int) -> float:
    """The largest resident memory among a process and its descendants (for gunicorn: its biggest worker; py-spy,
    when profiling, is left out)."""
    largest = 0.0
    for current in process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if "py-spy" in status.split("\n", 1)[0]:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                largest = max(largest, int(line.split()[1]) / 1024)
    return largest


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def pids_named(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return pids


@dataclass
class Round:
    target: str
    events: int
    webhook_latencies: list[float] = field(default_factory=list)
    webhook_wall: float = 0.0
    non_200: int = 0
    end_to_end: list[float] = field(default_factory=list)
    end_to_end_wall: float = 0.0
    pushes: int = 0
    tokens_used_twice: int = 0
    missing: int = 0
    cpu_ms_per_event: dict[str, float] = field(default_factory=dict)

    @property
    def webhook_rate(self) -> float:
        return len(self.webhook_latencies) / self.webhook_wall if self.webhook_wall else 0.0

    @property
    def end_to_end_rate(self) -> float:
        return len(self.end_to_end) / self.end_to_end_wall if self.end_to_end_wall else 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def send(
    port: int,
    bodies: list[tuple[str, bytes, str]],
    concurrency: int,
    sent_at: dict[str, float],
    result: Round,
    rate: float | None = None,
) -> None:
    """Send the bodies over `concurrency` connections: as fast as they are answered, or with `rate` at that pace
    (event n due n / rate seconds after the start; its latencies count from when it was due, so a client that falls
    behind shows as latency instead of a slower pace)."""
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    first = time.time() + 0.05

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                break
            token, body, signature = bodies[index]
            if rate:
                started = first + index / rate
                time.sleep(max(0.0, started - time.time()))
            else:
                started = time.time()
            conn.request("POST", "/callback", body, {"Content-Type": "application/json", "X-Line-Signature": signature})
            response = conn.getresponse()
            response.read()
            elapsed = time.time() - started
            with lock:
                sent_at[token] = started
                result.webhook_latencies.append(elapsed)
                result.non_200 += response.status != 200

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.time() if not rate else first
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.webhook_wall = time.time() - started


def collect(standin: int, events: int, sent_at: dict[str, float], result: Round, settle: float = 30.0) -> None:
    """Wait until every event has an answer at the stand-in (or nothing new arrives for `settle` seconds)."""
    last, quiet_since = -1, time.monotonic()
    while True:
        stats = call(standin, "GET", "/_stats")
        answered = stats["reply_tokens"] + stats["pushes"]
        if answered >= events:
            break
        if answered != last:
            last, quiet_since = answered, time.monotonic()
        elif time.monotonic() - quiet_since > settle:
            break
        time.sleep(0.05)
    arrivals = call(standin, "GET", "/_arrivals")
    stats = call(standin, "GET", "/_stats")
    first_sent = min(sent_at.values())
    finished = first_sent
    for token, arrived in arrivals["replies"].items():
        if token in sent_at:
            result.end_to_end.append(arrived - sent_at[token])
            finished = max(finished, arrived)
    for _user, arrived in arrivals["pushes"]:
        finished = max(finished, arrived)
    result.pushes = stats["pushes"]
    result.tokens_used_twice = stats["reply_tokens_used_twice"] + stats["push_keys_used_twice"]
    result.missing = max(0, events - stats["reply_tokens"] - stats["pushes"])
    result.end_to_end_wall = finished - first_sent


def run_round(
    target: str,
    port: int,
    standin: int,
    users: list[str],
    events: int,
    concurrency: int,
    processes: dict[str, list[int]] | None = None,
    rate: float | None = None,
) -> Round:
    call(standin, "POST", "/_reset")
    bodies = []
    for n in range(events):
        event = text_event(users[n % len(users)], n)
        bodies.append((event["replyToken"], *signed([event])))
    result = Round(target, events)
    sent_at: dict[str, float] = {}
    # Each group's processes with their descendants, counted once (the postmaster's children are its backends).
    groups = {name: sorted({p for pid in pids for p in process_tree(pid)}) for name, pids in (processes or {}).items()}
    before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    own_before = sum(os.times()[:2])
    send(port, bodies, concurrency, sent_at, result, rate)
    collect(standin, events, sent_at, result)
    if processes:
        used = {name: cpu_seconds(pids) - before[name] for name, pids in groups.items()}
        used["bench client"] = sum(os.times()[:2]) - own_before
        result.cpu_ms_per_event = {name: seconds * 1000 / events for name, seconds in used.items()}
    return result


def idle_latency(port: int, standin: int, users: list[str], events: int) -> list[float]:
    """One event at a time on an otherwise idle system: how long a shopper waits from the webhook to LINE."""
    latencies = []
    for n in range(events):
        call(standin, "POST", "/_reset")
        event = text_event(users[n % len(users)], n)
        body, signature = signed([event])
        started = time.time()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/callback", body, {"Content-Type": "application/json", "X-Line-Signature": signature})
        conn.getresponse().read()
        conn.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            arrived = call(standin, "GET", "/_arrivals")
            if arrived["replies"] or arrived["pushes"]:
                stamp = next(iter(arrived["replies"].values()), None) or arrived["pushes"][0][1]
                latencies.append(stamp - started)
                break
            time.sleep(0.005)
        time.sleep(0.1)
    return latencies


class Target:
    """One webhook under test: its processes, started before the rounds and stopped after."""

    def __init__(self, name: str, commands: list[list[str]], env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        self.processes = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for command in commands
        ]
        wait_until_up(port)

    def pids(self) -> dict[str, list[int]]:
        """The target's processes by role, for CPU accounting."""
        names = ("web", *(f"worker{n}" for n in range(1, len(self.processes))))
        return {name: [process.pid] for name, process in zip(names, self.processes, strict=True)}

    def rss(self) -> list[float]:
        return [rss_mib(process.pid) for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:  # SIGINT: gunicorn and the worker stop, py-spy writes its profile
            process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def describe(result: Round) -> str:
    webhook, e2e = result.webhook_latencies, result.end_to_end
    return (
        f"{result.target:5} webhook {result.webhook_rate:7.1f}/s p50 {ms(percentile(webhook, 0.5))} "
        f"p99 {ms(percentile(webhook, 0.99))} | reached LINE {result.end_to_end_rate:7.1f}/s "
        f"p50 {ms(percentile(e2e, 0.5))} p99 {ms(percentile(e2e, 0.99))} | pushes {result.pushes} "
        f"twice {result.tokens_used_twice} missing {result.missing} non-200 {result.non_200}"
    )


def cpu_summary(result: Round) -> str:
    spent = {name: ms for name, ms in result.cpu_ms_per_event.items() if ms >= 0.05}
    return ", ".join(f"{name} {ms:.2f}" for name, ms in spent.items()) + f" (total {sum(spent.values()):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="events per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per target, alternating")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers (the Procfile's WEB_CONCURRENCY)")
    parser.add_argument("--web-threads", type=int, default=2, help="gunicorn threads per worker (the Procfile's)")
    parser.add_argument("--worker-threads", type=int, default=2, help="omo worker --workers (the Procfile's)")
    parser.add_argument(
        "--worker-processes",
        type=int,
        help="omo worker --processes (the Procfile's and the quickstart's 2)",
    )
    parser.add_argument(
        "--worker-type", choices=("thread", "process"), default="thread", help="omo worker --worker-type"
    )
    parser.add_argument(
        "--consumers", type=int, default=1, help="omo worker processes (all but one with --no-periodic; Redis only)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="send at this many events/s (paced, open loop) instead of as fast as answered: latencies at a given load",
    )
    parser.add_argument("--idle-events", type=int, default=30, help="events sent one at a time for the idle latency")
    parser.add_argument(
        "--py-spy",
        metavar="PATH",
        help="profile the bot's web and worker processes with this py-spy binary (collapsed stacks in the run's dir)",
    )
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    workdir = Path(tempfile.mkdtemp(prefix="omo-bench-"))
    standin_port, bot_port, echo_port = free_port(), free_port(), free_port()
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN="bench-token",
        LINE_API_BASE_URL=f"http://127.0.0.1:{standin_port}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{bot_port}",
        HUEY_SQLITE_PATH=str(workdir / "huey.sqlite3"),
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    gunicorn = [str(bin_dir / "gunicorn"), "--workers", str(args.web_workers), "--threads", str(args.web_threads),
                "--log-level", "warning", "--no-control-socket", "--reuse-port"]  # fmt: skip
    standin = subprocess.Popen([sys.executable, str(ROOT / "bench" / "line_standin.py"), "--port", str(standin_port)])
    targets: list[Target] = []
    try:
        wait_until_up(standin_port, "/_stats")
        subprocess.run([bin_dir / "omo", "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
        processes = args.worker_processes or 2
        consumer = [str(bin_dir / "omo"), "worker", "--workers", str(args.worker_threads)]
        if processes > 1:  # left out when 1 (--worker-processes 1), so the bench also runs an older checkout
            consumer += ["--processes", str(processes)]
        if args.worker_type != "thread":  # the default; left out so the bench also runs an older checkout
            consumer += ["--worker-type", args.worker_type]
        bot_commands = [
            [*gunicorn, "bot.wsgi:app", "--bind", f"127.0.0.1:{bot_port}"],
            consumer,
            *([*consumer, "--no-periodic"] for _ in range(args.consumers - 1)),
        ]
        if args.py_spy:
            # --gil: only the samples holding the GIL, so the profile shows where the CPU goes, not the waits.
            spy = [args.py_spy, "record", "--format", "raw", "--subprocesses", "--rate", "200", "--nonblocking"]
            spy.append("--gil")
            bot_commands = [
                [*spy, "-o", str(workdir / f"{name}.collapsed"), "--", *command]
                for name, command in zip(("web", *(f"worker{n}" for n in range(1, 99))), bot_commands, strict=False)
            ]
            print(f"profiles: {workdir}/web.collapsed and {workdir}/worker1.collapsed")
        bot = Target("bot", bot_commands, env, bot_port)
        echo = Target("echo", [[*gunicorn, "bench.echo_app:app", "--bind", f"127.0.0.1:{echo_port}"]], env, echo_port)
        targets = [bot, echo]
        users = [f"U{uuid.uuid4().hex}" for _ in range(args.users)]
        for target in targets:  # warm-up, not counted: the bot meets its users (profiles) and both warm up
            run_round(target.name, target.port, standin_port, users, args.users, args.concurrency)
        results: dict[str, list[Round]] = {"bot": [], "echo": []}
        database = env["DATABASE_URL"].split(":", 1)[0]
        queue = "redis" if env.get("REDIS_URL") else "sqlite"
        print(
            f"webhook end to end: {args.events} signed text events a round from {args.users} users, concurrency "
            f"{args.concurrency}, {args.rounds} alternating rounds; bot on {database} with a {queue} queue, "
            f"gunicorn {args.web_workers}x{args.web_threads} threads, "
            f"worker {processes} process(es) x {args.worker_threads} {args.worker_type}s; "
            "echo on the same gunicorn" + (f"; paced at {args.rate:g} events/s" if args.rate else "")
        )
        for n in range(args.rounds):
            for target in targets:
                shared = {
                    "line stand-in": [standin.pid],
                    "postgres": pids_named("postgres"),  # its backends, writers and vacuum, all databases
                    "redis": pids_named("redis-server"),
                }
                processes = {**target.pids(), **shared}
                result = run_round(
                    target.name, target.port, standin_port, users, args.events, args.concurrency, processes, args.rate
                )
                results[target.name].append(result)
                print(f"  round {n + 1} {describe(result)}", flush=True)
                print(f"          CPU ms per event: {cpu_summary(result)}", flush=True)
        idle = {target.name: idle_latency(target.port, standin_port, users, args.idle_events) for target in targets}
        rss = {target.name: target.rss() for target in targets}
    finally:
        for target in targets:
            target.stop()
        standin.terminate()
        # The queued jobs belong to this run only: leave no work behind in a shared Redis.
        flush = "from bot.queue import huey; huey.flush()"
        subprocess.run([sys.executable, "-c", flush], env=env, cwd=ROOT, check=False)

    def median(name: str, attr: str) -> float:
        return statistics.median(getattr(result, attr) for result in results[name])

    bot_e2e, echo_e2e = median("bot", "end_to_end_rate"), median("echo", "end_to_end_rate")
    print("medians")
    for name in ("bot", "echo"):
        rounds = results[name]
        webhook_p99 = statistics.median(percentile(r.webhook_latencies, 0.99) for r in rounds)
        e2e = [latency for r in rounds for latency in r.end_to_end]
        print(
            f"  {name:5} webhook {median(name, 'webhook_rate'):7.1f}/s p99 {ms(webhook_p99)} | "
            f"answer p50 {ms(percentile(e2e, 0.5))} p99 {ms(percentile(e2e, 0.99))} | "
            f"reached LINE {median(name, 'end_to_end_rate'):7.1f}/s | idle p50 {ms(percentile(idle[name], 0.5))} "
            f"p99 {ms(percentile(idle[name], 0.99))} | pushes {sum(r.pushes for r in rounds)} "
            f"twice {sum(r.tokens_used_twice for r in rounds)} missing {sum(r.missing for r in rounds)}"
        )
    if args.rate:
        print(f"  paced at {args.rate:g} events/s: both keep the pace they can; compare the latencies, not the rates")
    else:
        print(f"  ratio (end to end, bot / echo) {bot_e2e / echo_e2e if echo_e2e else float('nan'):.2f}")
    workers = ", ".join(f"{mib:.0f}" for mib in rss["bot"][1:])
    print(
        f"  RSS MiB (largest process): bot web {rss['bot'][0]:.0f}, bot worker {workers}, echo web {rss['echo'][0]:.0f}"
    )


if __name__ == "__main__":
    main()
