"""`omo worker --processes N`: N consumer processes on one queue (Redis, or the quickstart's SQLite), started,
stopped and watched as one."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from huey import SqliteHuey

from bot.cli import _follow_parent, main

ROOT = Path(__file__).resolve().parents[2]


def _redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


needs_redis = pytest.mark.skipif(not _redis_is_up(), reason="no Redis on 127.0.0.1:6379")
both_queues = pytest.mark.parametrize("queue", [pytest.param("redis", marks=needs_redis), "sqlite"])
on_linux = pytest.mark.skipif(sys.platform != "linux", reason="the consumers follow their parent through Linux's prctl")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _start(tmp_path: Path, queue: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "HUEY_SQLITE_PATH": str(tmp_path / "queue.sqlite3"),
        "LINE_CHANNEL_SECRET": "test-secret",
        "LINE_CHANNEL_ACCESS_TOKEN": "test-token",
        "LINE_MULTICAST_RATE": "190/second",
    }
    env.pop("REDIS_URL", None)
    if queue == "redis":
        env["REDIS_URL"] = "redis://127.0.0.1:6379/13"
    command = [sys.executable, "-m", "bot.cli", "worker", "--processes", "2", "--workers", "1"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for_children(parent: subprocess.Popen[bytes], count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = _children(parent.pid)
        if len(children) == count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"expected {count} consumer processes, found {_children(parent.pid)}")


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def _environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)


@both_queues
def test_a_stop_signal_stops_every_consumer_process(tmp_path: Path, queue: str) -> None:
    parent = _start(tmp_path, queue)
    try:
        children = _wait_for_children(parent, 2)
        time.sleep(1)  # started, not only forked: each has opened the queue
        assert not any(_gone(child) for child in children)

        parent.send_signal(signal.SIGTERM)

        assert parent.wait(timeout=30) == 0
        assert all(_gone(child) for child in children)
    finally:
        parent.kill()


@both_queues
def test_when_one_consumer_dies_the_group_stops_so_it_is_restarted_whole(tmp_path: Path, queue: str) -> None:
    parent = _start(tmp_path, queue)
    try:
        first, second = _wait_for_children(parent, 2)

        os.kill(second, signal.SIGKILL)

        assert parent.wait(timeout=30) != 0
        assert _gone(first)
    finally:
        parent.kill()


@both_queues
@on_linux
def test_consumers_do_not_outlive_their_group_killed_outright(tmp_path: Path, queue: str) -> None:
    parent = _start(tmp_path, queue)
    try:
        children = _wait_for_children(parent, 2)

        parent.kill()
        parent.wait(timeout=10)

        deadline = time.monotonic() + 30
        while not all(_gone(child) for child in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(child) for child in children)
    finally:
        parent.kill()


@on_linux
def test_a_consumer_whose_group_died_before_it_started_leaves_at_once() -> None:
    # The group killed between starting a consumer and the consumer asking to follow it: nothing would signal it.
    consumer = subprocess.Popen(["sleep", "30"], preexec_fn=_follow_parent(os.getpid() + 1))
    try:
        assert consumer.wait(timeout=10) == 1
    finally:
        consumer.kill()


@on_linux
def test_without_redis_each_consumer_gets_its_share_of_lines_multicast_rate(tmp_path: Path) -> None:
    # Without Redis each process counts LINE's rate in its own memory: two at the whole rate would send twice it.
    parent = _start(tmp_path, "sqlite")
    try:
        children = _wait_for_children(parent, 2)

        assert [_environment(child)["LINE_MULTICAST_RATE"] for child in children] == ["95/1 seconds"] * 2
    finally:
        parent.kill()


def test_production_refuses_several_consumers_without_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A worker that quietly took jobs from a file of its own would never see what the web processes queue.
    for name, value in {
        "APP_ENV": "production",
        "LINE_CHANNEL_SECRET": "secret",
        "LINE_CHANNEL_ACCESS_TOKEN": "token",
        "SECRET_KEY": "k" * 32,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PUBLIC_BASE_URL": "https://bot.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)

    result = CliRunner().invoke(main, ["worker", "--processes", "2"])

    assert result.exit_code == 2
    assert "REDIS_URL" in result.output


def _take_all(path: str, start: Any, taken: multiprocessing.Queue[list[bytes]]) -> None:
    storage = SqliteHuey("omo-member-bot", filename=path, timeout=30).storage
    start.wait()
    mine = []
    while (data := storage.dequeue()) is not None:
        mine.append(data)
        # A consumer runs each job outside the queue's lock: without that pause one process could take all 3,000
        # before the others were scheduled (seen once on a busy machine), and the test would show no sharing.
        time.sleep(0.0005)
    taken.put(mine)


def test_the_sqlite_queue_hands_each_job_to_one_consumer_process(tmp_path: Path) -> None:
    # What several consumers on the quickstart's queue rely on (Huey takes a job under an exclusive lock).
    path = str(tmp_path / "queue.sqlite3")
    storage = SqliteHuey("omo-member-bot", filename=path, timeout=30).storage
    jobs = [f"job {n}".encode() for n in range(3000)]
    for job in jobs:
        storage.enqueue(job)
    start, taken = multiprocessing.Barrier(3), multiprocessing.Queue()
    consumers = [multiprocessing.Process(target=_take_all, args=(path, start, taken)) for _ in range(3)]

    for consumer in consumers:
        consumer.start()
    results = [taken.get(timeout=60) for _ in consumers]
    for consumer in consumers:
        consumer.join(timeout=10)

    everything = [job for result in results for job in result]
    assert sorted(everything) == sorted(jobs)
    assert sum(1 for result in results if result) >= 2  # the consumers did share the work
