"""Fault runs, end to end (issue 10): the bot started as its Procfile starts it (migrate, gunicorn, `omo worker`)
against the recording LINE stand-in (bench/line_standin.py), while things go wrong on purpose. After each row it
waits for the bot to settle and prints, per row: events sent and acknowledged (webhook 200), answered once, answered
twice or more (must be 0), lost (must be 0) and the at-most-once cases (a reply whose outcome the bot could not know,
recorded `unknown` and not sent again; counted, and lost only when LINE really had not carried it out).

    .venv/bin/python bench/faults.py                           # SQLite database and queue
    .venv/bin/python bench/faults.py --postgres                # a throwaway PostgreSQL cluster (another port) too:
                                                               # adds the database restart and the 15 s stop rows
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/faults.py --postgres     # ... on a Redis queue
    .venv/bin/python bench/faults.py --only storm,line-500     # some rows

The bot runs with LINE_TIMEOUT=2 (the "answers after the timeout" row) and a scaled-down DELIVERY_GIVE_UP_AFTER
(--horizon, 300 s) so that "down longer than the old give-up time" (8 attempts, ~8.5 minutes before issue 10) runs
in a few minutes: the outage outlasts the old number of attempts, not the new horizon. The sweep runs once a minute
and a dead worker's claim times out after 2 minutes, so a whole run takes 20-30 minutes. Nothing here calls LINE.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import line_standin
from webhook_load import ROOT, SECRET, free_port, signed, text_event, wait_until_up

BIN = Path(sys.executable).parent


@dataclass
class Outcome:
    row: str
    sent: int = 0
    acked: int = 0
    once: int = 0
    twice: int = 0
    lost: int = 0
    unknown: int = 0
    unknown_lost: int = 0
    failed: int = 0
    seconds: float = 0.0
    note: str = ""


class Bot:
    """The bot's processes: gunicorn (web) and `omo worker`, each restartable and killable."""

    def __init__(self, env: dict[str, str], port: int, web_workers: int, worker_threads: int) -> None:
        self.env, self.port = env, port
        self.web_command = [str(BIN / "gunicorn"), "--workers", str(web_workers), "--threads", "4", "--log-level",
                            "error", "--no-control-socket", "bot.wsgi:app", "--bind", f"127.0.0.1:{port}"]  # fmt: skip
        self.worker_command = [str(BIN / "omo"), "worker", "--workers", str(worker_threads)]
        self.log = open(Path(env["FAULTS_DIR"]) / "bot.log", "ab")  # noqa: SIM115 - open for the run
        self.web = self._start(self.web_command)
        self.worker = self._start(self.worker_command)
        wait_until_up(port)

    def _start(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=self.log, stderr=self.log)

    def kill_worker(self) -> None:
        os.kill(self.worker.pid, signal.SIGKILL)
        self.worker.wait()
        self.worker = self._start(self.worker_command)

    def kill_a_web_worker(self) -> bool:
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children").read_text().split()
        if not children:
            return False
        os.kill(int(children[0]), signal.SIGKILL)
        return True

    def stop(self) -> None:
        for process in (self.web, self.worker):
            process.send_signal(signal.SIGINT)
        for process in (self.web, self.worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


class StandIn:
    """The recording LINE stand-in (bench/line_standin.py), served from this process: its records outlive a
    "refusing connections" outage (the listening socket and every open connection are closed, then it listens
    again on the same port), and no other program's clean-up of stand-in processes can stop it mid-run."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.start()

    def start(self) -> None:
        stand_in = self

        class Handler(line_standin.StandIn):
            def setup(self) -> None:
                super().setup()
                with stand_in.lock:
                    stand_in.connections.add(self.connection)

            def finish(self) -> None:
                with stand_in.lock:
                    stand_in.connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def handle(self) -> None:
                with contextlib.suppress(OSError):
                    super().handle()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def mode(self, mode: str, delay: float = 0.0) -> None:
        line_standin._mode.update(mode=mode, delay=delay)

    def answers(self) -> tuple[dict[str, int], dict[str, int]]:
        with line_standin._lock:
            return dict(line_standin._replies), dict(line_standin._accepted_pushes_to)


def post_events(port: int, bodies: list[tuple[bytes, str]], concurrency: int, redeliver_for: float = 90.0) -> int:
    """POST each body until the webhook answers 200 (LINE redelivers what was not acknowledged); how many were."""
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))
    acked = [0]

    def client() -> None:
        import http.client

        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            body, signature = bodies[index]
            deadline = time.monotonic() + redeliver_for
            while time.monotonic() < deadline:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    headers = {"Content-Type": "application/json", "X-Line-Signature": signature}
                    conn.request("POST", "/callback", body, headers)
                    status = conn.getresponse().status
                    conn.close()
                except OSError:
                    status = 0
                if status == 200:
                    with lock:
                        acked[0] += 1
                    break
                time.sleep(0.5)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acked[0]


class Ledger:
    """What the bot's database says about a row's events and their answers (counts only)."""

    def __init__(self, database_url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(database_url, pool_pre_ping=True)

    def query(self, sql: str, prefix: str) -> list[tuple]:
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        while True:
            try:
                with self.engine.connect() as connection:
                    return [tuple(r) for r in connection.execute(text(sql), {"p": prefix + "%"})]
            except OperationalError:  # the database is being restarted by the row
                time.sleep(1)

    def settled(self, prefix: str) -> bool:
        events = self.query(
            "SELECT count(*) FROM webhook_events WHERE line_user_id LIKE :p AND status = 'pending'", prefix
        )
        rows = self.query(
            "SELECT count(*) FROM outbound_messages o JOIN webhook_events e ON o.webhook_event_id = e.id"
            " WHERE e.line_user_id LIKE :p AND o.status IN ('pending', 'sending')",
            prefix,
        )
        return events[0][0] == 0 and rows[0][0] == 0

    def answers(self, prefix: str) -> dict[str, list[str]]:
        statuses: dict[str, list[str]] = {}
        for user, status in self.query(
            "SELECT e.line_user_id, o.status FROM outbound_messages o JOIN webhook_events e"
            " ON o.webhook_event_id = e.id WHERE e.line_user_id LIKE :p",
            prefix,
        ):
            statuses.setdefault(user, []).append(status)
        return statuses


class Run:
    def __init__(self, args: argparse.Namespace, env: dict[str, str]) -> None:
        self.args, self.env = args, env
        self.standin = StandIn(int(env["STANDIN_PORT"]))
        self.bot = Bot(env, int(env["BOT_PORT"]), args.web_workers, args.worker_threads)
        self.ledger = Ledger(env["DATABASE_URL"])

    def events(self, prefix: str, n: int) -> tuple[list[tuple[bytes, str]], dict[str, str]]:
        bodies, tokens = [], {}
        for i in range(n):
            event = text_event(f"{prefix}{i:06x}{uuid.uuid4().hex[:18]}", i)  # LINE's U + 32 hex digits
            tokens[event["replyToken"]] = event["source"]["userId"]
            bodies.append(signed([event]))
        return bodies, tokens

    def account(self, outcome: Outcome, prefix: str, tokens: dict[str, str], started: float) -> Outcome:
        deadline = time.monotonic() + self.args.settle
        while time.monotonic() < deadline and not self.ledger.settled(prefix):
            time.sleep(2)
        if not self.ledger.settled(prefix):
            outcome.note += " not settled in time;"
        replies, pushes = self.standin.answers()
        delivered: dict[str, int] = {user: pushes.get(user, 0) for user in tokens.values()}
        for token, user in tokens.items():
            delivered[user] += min(replies.get(token, 0), 1)
        statuses = self.ledger.answers(prefix)
        for user, got in delivered.items():
            rows = statuses.get(user, [])
            expected = max(len(rows), 1)
            if "unknown" in rows:
                outcome.unknown += 1
                outcome.unknown_lost += got == 0
            outcome.failed += rows.count("failed")
            if got > expected:
                outcome.twice += 1
            elif got == 0 and "unknown" not in rows:
                outcome.lost += 1
            elif got:
                outcome.once += 1
        outcome.seconds = time.monotonic() - started
        return outcome

    def burst(self, name: str, n: int, during: Callable[[], None] | None = None, concurrency: int = 8) -> Outcome:
        prefix = f"U{uuid.uuid4().hex[:8]}"
        bodies, tokens = self.events(prefix, n)
        started = time.monotonic()
        outcome = Outcome(name, sent=n)
        chaos = threading.Thread(target=during) if during else None
        if chaos:
            chaos.start()
        outcome.acked = post_events(self.bot.port, bodies, concurrency)
        if chaos:
            chaos.join()
        return self.account(outcome, prefix, tokens, started)

    # The rows
    def storm(self) -> Outcome:
        prefix = f"U{uuid.uuid4().hex[:8]}"
        event = text_event(f"{prefix}{'0' * 24}", 0)
        body = signed([event])
        started = time.monotonic()
        outcome = Outcome("duplicate storm (1 event x 300)", sent=300)
        outcome.acked = post_events(self.bot.port, [body] * 300, 32)
        return self.account(outcome, prefix, {event["replyToken"]: event["source"]["userId"]}, started)

    def kill_worker(self) -> Outcome:
        def kills() -> None:
            for _ in range(self.args.kills):
                time.sleep(2.0)
                self.bot.kill_worker()

        return self.burst(f"kill -9 worker x{self.args.kills}", self.args.events, kills, concurrency=6)

    def kill_web(self) -> Outcome:
        def kills() -> None:
            for _ in range(3):
                time.sleep(1.5)
                self.bot.kill_a_web_worker()

        return self.burst("kill -9 web worker x3", self.args.events, kills)

    def line_outage(self, name: str, mode: str, seconds: float, n: int = 60, delay: float = 0.0) -> Outcome:
        def outage() -> None:
            time.sleep(seconds)
            self.standin.mode("ok")

        self.standin.mode(mode, delay)
        return self.burst(name, n, outage, concurrency=4)

    def line_refusing(self) -> Outcome:
        def outage() -> None:
            time.sleep(60)
            self.standin.start()

        self.standin.stop()
        return self.burst("LINE refusing connections 60 s", 60, outage, concurrency=4)

    def line_slow(self) -> Outcome:  # the bot's LINE_TIMEOUT is 2 s; LINE carries each call out, answers after 4 s
        return self.line_outage("LINE answering after the timeout 30 s", "slow", 30, n=20, delay=4.0)

    def database(self, name: str, action: Callable[[], None]) -> Outcome:
        def chaos() -> None:
            time.sleep(2)
            action()

        return self.burst(name, self.args.events, chaos, concurrency=6)


class Cluster:
    """A throwaway PostgreSQL cluster on another port, run by a non-root user (initdb refuses root)."""

    def __init__(self, workdir: Path) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb")
        self.bin = found[-1].parent
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.data = workdir / "pgdata"
        self.port = free_port()
        workdir.chmod(0o777)
        self._as_user([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"])
        self.ctl("start", "-w", "-o", f"-p {self.port} -k {workdir} -c listen_addresses=127.0.0.1")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_user(self, command: list[str]) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def ctl(self, *args: str) -> None:
        self._as_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data.parent / "pg.log"), *args])

    def restart(self) -> None:
        self.ctl("restart", "-m", "fast", "-w", "-o", f"-p {self.port} -k {self.data.parent}")

    def stop_for(self, seconds: float) -> None:
        self.ctl("stop", "-m", "fast", "-w")
        time.sleep(seconds)
        self.ctl("start", "-w", "-o", f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.ctl("stop", "-m", "immediate", "-w")


def print_table(outcomes: list[Outcome], skipped: list[tuple[str, str]], setup: str) -> None:
    print(f"\nfault runs: {setup}")
    head = f"{'row':40} {'sent':>5} {'acked':>5} {'once':>5} {'twice':>5} {'lost':>5} {'unknown':>7} {'(lost)':>6}"
    print(head + f" {'failed':>6} {'secs':>5}")
    for o in outcomes:
        print(
            f"{o.row:40} {o.sent:5} {o.acked:5} {o.once:5} {o.twice:5} {o.lost:5} {o.unknown:7} {o.unknown_lost:6}"
            f" {o.failed:6} {o.seconds:5.0f}{'  ' + o.note if o.note else ''}"
        )
    for row, reason in skipped:
        print(f"{row:40} skipped: {reason}")
    bad = sum(o.twice + o.lost for o in outcomes)
    print("every acknowledged event answered at most once, none lost beyond the counted unknown cases" if not bad
          else f"FAILED: {bad} events answered twice or lost")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=300, help="events of the kill and database rows")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 of the worker during its burst")
    parser.add_argument("--horizon", type=int, default=300, help="DELIVERY_GIVE_UP_AFTER for the run (seconds)")
    parser.add_argument("--settle", type=float, default=300, help="seconds to wait for a row to settle")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-threads", type=int, default=4)
    parser.add_argument("--postgres", action="store_true", help="run on a throwaway PostgreSQL cluster")
    parser.add_argument("--only", default="", help="comma-separated row keys (storm, kill-worker, kill-web, "
                        "line-500, line-refused, line-slow, line-long, db-restart, db-stop)")  # fmt: skip
    args = parser.parse_args()
    only = {key for key in args.only.split(",") if key}

    workdir = Path(tempfile.mkdtemp(prefix="omo-faults-"))
    skipped: list[tuple[str, str]] = []
    cluster: Cluster | None = None
    if args.postgres:
        try:
            cluster = Cluster(workdir)
        except (RuntimeError, subprocess.CalledProcessError, KeyError, OSError) as exc:
            skipped.append(("database restart / 15 s stop", f"no throwaway PostgreSQL cluster: {exc}"))
    elif not only or only & {"db-restart", "db-stop"}:
        skipped.append(("database restart / 15 s stop", "PostgreSQL only: run with --postgres"))
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        LINE_CHANNEL_SECRET=SECRET,
        LINE_CHANNEL_ACCESS_TOKEN="faults-token",
        STANDIN_PORT=str(free_port()),
        BOT_PORT=str(free_port()),
        HUEY_SQLITE_PATH=str(workdir / "huey.sqlite3"),
        PYTHONPATH=str(ROOT),
        FAULTS_DIR=str(workdir),
        LINE_TIMEOUT="2",
        DELIVERY_GIVE_UP_AFTER=str(args.horizon),
    )
    env["LINE_API_BASE_URL"] = f"http://127.0.0.1:{env['STANDIN_PORT']}"
    env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{env['BOT_PORT']}"
    env["DATABASE_URL"] = cluster.url if cluster else f"sqlite:///{workdir / 'faults.sqlite3'}"
    subprocess.run([BIN / "omo", "migrate"], env=env, check=True, cwd=ROOT, capture_output=True)
    run = Run(args, env)
    long_outage = min(args.horizon * 0.6, 180)
    rows: list[tuple[str, Callable[[], Outcome]]] = [
        ("storm", run.storm),
        ("kill-worker", run.kill_worker),
        ("kill-web", run.kill_web),
        ("line-500", lambda: run.line_outage("LINE answering 500 for 60 s", "500", 60)),
        ("line-refused", run.line_refusing),
        ("line-slow", run.line_slow),
        (
            "line-long",
            lambda: run.line_outage(f"LINE down {long_outage:.0f} s (horizon {args.horizon} s)", "500", long_outage),
        ),
    ]
    if cluster:
        rows += [
            ("db-restart", lambda: run.database("PostgreSQL restart under load", cluster.restart)),
            ("db-stop", lambda: run.database("PostgreSQL stopped 15 s under load", lambda: cluster.stop_for(15))),
        ]
    outcomes: list[Outcome] = []
    try:
        for key, row in rows:
            if only and key not in only:
                continue
            outcome = row()
            outcomes.append(outcome)
            print(f"  {outcome.row}: once {outcome.once}, twice {outcome.twice}, lost {outcome.lost}, unknown "
                  f"{outcome.unknown} ({outcome.seconds:.0f} s)", flush=True)  # fmt: skip
    finally:
        run.bot.stop()
        run.standin.stop()
        subprocess.run([sys.executable, "-c", "from bot.queue import huey; huey.flush()"], env=env, cwd=ROOT,
                       check=False)  # fmt: skip
        if cluster:
            cluster.destroy()
    database = "PostgreSQL (throwaway cluster)" if cluster else "SQLite"
    queue = "Redis" if env.get("REDIS_URL") else "SQLite"
    print_table(outcomes, skipped, f"{database} database, {queue} queue; logs in {workdir}/bot.log")
    if not os.environ.get("FAULTS_KEEP"):
        shutil.rmtree(workdir / "pgdata", ignore_errors=True)


if __name__ == "__main__":
    main()
