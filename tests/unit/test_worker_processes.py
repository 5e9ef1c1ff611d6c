"""`omo worker --processes N`: N consumer processes on the Redis queue, started, stopped and watched as one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import _follow_parent

ROOT = Path(__file__).resolve().parents[2]


def _redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


needs_redis = pytest.mark.skipif(not _redis_is_up(), reason="no Redis on 127.0.0.1:6379")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _start(tmp_path: Path, queue: str = "redis") -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "HUEY_SQLITE_PATH": str(tmp_path / "queue.sqlite3"),
        "LINE_CHANNEL_SECRET": "test-secret",
        "LINE_CHANNEL_ACCESS_TOKEN": "test-token",
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


@pytest.mark.parametrize("queue", [pytest.param("redis", marks=needs_redis), "sqlite"])
def test_a_stop_signal_stops_every_consumer_process(tmp_path: Path, queue: str) -> None:
    # Both queues take several consumers: Huey's SQLite queue takes a job under an exclusive lock.
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


@needs_redis
def test_when_one_consumer_dies_the_group_stops_so_it_is_restarted_whole(tmp_path: Path) -> None:
    parent = _start(tmp_path)
    try:
        first, second = _wait_for_children(parent, 2)

        os.kill(second, signal.SIGKILL)

        assert parent.wait(timeout=30) != 0
        assert _gone(first)
    finally:
        parent.kill()


@needs_redis
@pytest.mark.skipif(sys.platform != "linux", reason="the consumers follow their parent through Linux's prctl")
def test_consumers_do_not_outlive_their_group_killed_outright(tmp_path: Path) -> None:
    parent = _start(tmp_path)
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


@pytest.mark.skipif(sys.platform != "linux", reason="the consumers follow their parent through Linux's prctl")
def test_a_consumer_whose_group_died_before_it_started_leaves_at_once() -> None:
    # The group killed between starting a consumer and the consumer asking to follow it: nothing would signal it.
    consumer = subprocess.Popen(["sleep", "30"], preexec_fn=_follow_parent(os.getpid() + 1))

    assert consumer.wait(timeout=10) == 1
