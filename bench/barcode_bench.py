"""Member barcode benchmark: rendering the images, their sizes, and the answer time of the barcode endpoints.

Prints the render time of a Code 128 and a QR PNG (p50/p99 over distinct codes, cold: the renderer itself, and
cached: through its lru_cache), the PNG sizes, and the p50/p99 answer time through the Flask test client (no
network, one thread) of `GET /img/<token>.png` (a new code each time, and one code again and again),
`GET /members/card/code` (and the card's poll of it, which answers `unchanged`), `GET /members/card` and, where the
app has it, the POS scan `POST /api/v1/scan` (intent lookup). The database is a fresh, migrated SQLite file unless
--database-url names another (its tables must be at the newest migration).

    .venv/bin/python bench/barcode_bench.py
    .venv/bin/python bench/barcode_bench.py --codes 2000 --requests 1000
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bot.app import create_app
from bot.barcode_images import code128_png, qr_png
from bot.cli import upgrade_database
from bot.db import transaction
from bot.links import card_url, image_path
from bot.runtime import Runtime
from bot.services.barcode.codes import current_code
from bot.services.membership import binding, members
from bot.services.membership.line_users import record_follow
from bot.services.staff.api_keys import create_api_key
from bot.settings import TEST_RUNNER_FLAG, Settings, normalise_database_url
from models import Store

LINE_USER = "U" + "b" * 32


def timed(calls: list[Callable[[], Any]]) -> list[float]:
    """The seconds each call took, in order."""
    took = []
    for call in calls:
        started = time.perf_counter()
        call()
        took.append(time.perf_counter() - started)
    return took


def line(label: str, took: list[float], unit: str = "ms") -> str:
    scale = {"ms": 1000, "µs": 1_000_000}[unit]
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"  {label:<34} p50 {statistics.median(ordered) * scale:8.3f} {unit}   p99 {p99 * scale:8.3f} {unit}"


def distinct_codes(count: int, first_member: int = 1) -> list[str]:
    """Well-formed codes of `count` different members (so distinct), with random TOTP digits."""
    rng = random.Random(first_member)
    return [f"{member:010d}{rng.randrange(10**8):08d}" for member in range(first_member, first_member + count)]


def bench_rendering(codes: list[str]) -> None:
    print(f"rendering ({len(codes)} distinct 18-digit codes)")
    for name, render in (("Code 128", code128_png), ("QR", qr_png)):
        cold = timed([partial(render.__wrapped__, code) for code in codes])
        for code in codes:
            render(code)
        cached = timed([partial(render, code) for code in codes])
        sizes = [len(render(code)) for code in codes]
        print(line(f"{name} cold", cold))
        print(line(f"{name} cached", cached, "µs"))
        print(f"  {name + ' PNG size':<34} mean {statistics.mean(sizes):8.0f} B    max {max(sizes):8d} B")


def prepare(database_url: str) -> tuple[Any, Runtime, str | None]:
    """The app on a migrated database, one member bound to LINE_USER, and a store key when there is a scan API."""
    upgrade_database(database_url)
    env = {"APP_ENV": "test", "DATABASE_URL": database_url, "PUBLIC_BASE_URL": "https://bench.example"}
    env[TEST_RUNNER_FLAG] = "1"  # a harness, like the test suite: the development secrets are fine
    settings = Settings.from_env(env)
    runtime = Runtime.build(settings)
    app = create_app(settings, runtime)
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        line_user, _ = record_follow(session, LINE_USER, at=now, display_name="林怡君")
        phone = f"+8869{random.randrange(10**8):08d}"
        member = members.create_member(session, name="林怡君", phone_e164=phone, birthday=None, source="pos_import")
        binding.bind(session, member, line_user, channel="api", at=now)
        current_code(session, member, now)
        key = None
        if any(rule.rule == "/api/v1/scan" for rule in app.url_map.iter_rules()):
            session.add(Store(code="TPE01", name="台北信義店"))
            session.flush()
            _, key = create_api_key(session, store_code="TPE01", name="bench", now=now)
    return app, runtime, key


def bench_endpoints(app: Any, runtime: Runtime, key: str | None, requests: int) -> None:
    client = app.test_client()
    settings = runtime.settings
    fresh = distinct_codes(requests, first_member=10**9)  # codes the renderers have not seen in this process
    new_images = [image_path(settings, code, "code128") for code in fresh]
    one_image = image_path(settings, fresh[0], "code128")
    feed = card_url(settings, LINE_USER).removeprefix(settings.public_base_url).replace("/card?", "/card/code?")

    def get(path: str) -> Callable[[], None]:
        def call() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return call

    print(f"answer time through the Flask test client ({requests} requests each)")
    print(line("GET /img/<token>.png (new code)", timed([get(path) for path in new_images])))
    print(line("GET /img/<token>.png (same code)", timed([get(one_image)] * requests)))
    print(line("GET /members/card/code", timed([get(feed)] * requests)))
    # The card's poll every 2 s: the code it shows is still current, so no image is signed (until the minute turns).
    poll = f"{feed}&v={client.get(feed).get_json()['version']}"
    print(line("GET /members/card/code (poll)", timed([get(poll)] * requests)))
    page = card_url(settings, LINE_USER).removeprefix(settings.public_base_url)
    print(line("GET /members/card", timed([get(page)] * requests)))
    if key is None:
        print("  POST /api/v1/scan                  (not measured: this app has no scan API)")
        return
    code = client.get(feed).get_json()["code"]

    def scan() -> None:
        body = {"code": code, "intent": "lookup"}
        response = client.post("/api/v1/scan", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.get_json()

    print(line("POST /api/v1/scan (lookup)", timed([scan] * requests)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=1000, help="distinct codes rendered (at least 500)")
    parser.add_argument("--requests", type=int, default=500, help="requests per endpoint")
    parser.add_argument("--database-url", help="an empty or migrated database instead of a temporary SQLite file")
    args = parser.parse_args()
    if args.codes < 500:
        parser.error("--codes must be at least 500")

    bench_rendering(distinct_codes(args.codes))
    with tempfile.TemporaryDirectory(prefix="omo-barcode-bench-") as workdir:
        url = normalise_database_url(args.database_url or f"sqlite:///{Path(workdir) / 'bench.sqlite3'}")
        app, runtime, key = prepare(url)
        try:
            print(f"database {url.split(':', 1)[0]}")
            bench_endpoints(app, runtime, key, args.requests)
        finally:
            runtime.engine.dispose()


if __name__ == "__main__":
    main()
