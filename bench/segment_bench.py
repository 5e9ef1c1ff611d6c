"""Segment evaluation benchmark (issue 14): the time to count typical segments on PostgreSQL.

Creates (or with `--reuse` keeps) a PostgreSQL database, migrates it, and fills it with SQL `generate_series` only:
`--members` members (70 % bound to LINE, 5 % of those blocked, 60 % with marketing consent, tiers 60/20/20 regular,
silver, gold, home stores over 20 stores) and `--purchases` purchases over the last 365 days in time order (as a
real shop records them), each with one or two SKU lines from a catalogue of 300 products in 12 categories. The
purchase table's indexes (exactly those the migrations created) are dropped for the load and built again after it,
then VACUUM ANALYZE (the visibility map index-only scans need, as autovacuum keeps it in production).

With the data in place it computes the RFM groups (the nightly job, timed), gives 1 % of members a manual tag, then
counts each segment of CASES `--runs` times (the first run warms the cache) as members and as the marketing audience,
printing the count, the median and worst time, and the time to draw the masked sample of 10. `--explain` prints
EXPLAIN (ANALYZE, BUFFERS) of the typical segment's count.

    .venv/bin/python bench/segment_bench.py --members 1000000 --purchases 10000000            # fresh database
    .venv/bin/python bench/segment_bench.py --members 1000000 --purchases 10000000 --reuse    # same data again
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.orm import Session

from bot.cli import upgrade_database
from bot.db import make_engine, make_session_factory
from bot.services.marketing.rfm import compute_rfm
from bot.services.marketing.segments import audience_for_marketing, count, members_matching, sample
from bot.settings import normalise_database_url
from models import Tag

TZ = ZoneInfo("Asia/Taipei")
STORES = 20
PRODUCTS = 300
CATEGORIES = 12

BASE = [
    """INSERT INTO stores (code, name, is_online, created_at)
       SELECT 'B' || s, '門市 ' || s, false, now() FROM generate_series(1, :stores) s""",
    """INSERT INTO line_users (line_user_id, is_blocked, rich_menu_state, created_at)
       SELECT 'U' || lpad(to_hex(i), 32, '0'), random() < 0.05, 'member', now()
       FROM generate_series(1, :members) i WHERE i % 10 < 7""",
    """INSERT INTO members (member_number, name, tier, home_store_id, line_user_id, source, created_at)
       SELECT 'B' || lpad(i::text, 9, '0'), '會員' || i,
              (ARRAY['regular', 'regular', 'regular', 'silver', 'gold'])[1 + i % 5],
              (SELECT min(id) FROM stores) + i % :stores, lu.id,
              (ARRAY['line', 'counter', 'api', 'pos_import'])[1 + i % 4],
              now() - (i % 1000) * interval '1 day'
       FROM generate_series(1, :members) i
       LEFT JOIN line_users lu ON lu.line_user_id = 'U' || lpad(to_hex(i), 32, '0')
       ORDER BY i""",
    """INSERT INTO consents (member_id, terms_version, privacy_version, marketing_opt_in, channel, created_at)
       SELECT id, '1', '1', random() < 0.6, 'line', created_at FROM members""",
]
# Time order: purchase p happens p/N of the way through the last 365 days.
PURCHASES = """
    INSERT INTO purchases (store_id, channel, transaction_id, request_hash, member_id, amount, points_earned,
                           refunded_amount, items, response, created_at)
    SELECT s.first_store + (random() * (:stores - 1))::int, 'pos', 'T' || p, '',
           s.first_member + (random() * (:members - 1))::int, a.amount, 0,
           CASE WHEN p % 50 = 0 THEN a.amount / 2 ELSE 0 END,
           CASE WHEN p % 3 = 0
                THEN jsonb_build_array(jsonb_build_object('sku', 'SKU' || (p % :products), 'quantity', 1),
                                       jsonb_build_object('sku', 'SKU' || ((p * 7) % :products), 'quantity', 2))
                ELSE jsonb_build_array(jsonb_build_object('sku', 'SKU' || (p % :products), 'quantity', 1)) END,
           '{}', now() - interval '365 days' + (p::float / :purchases) * interval '365 days'
    FROM generate_series(1, :purchases) p,
         LATERAL (SELECT (50 + random() * 2000 + p * 0)::int AS amount) a,
         (SELECT (SELECT min(id) FROM stores) AS first_store, (SELECT min(id) FROM members) AS first_member) s
"""
PRODUCTS_FILL = """
    INSERT INTO products (sku, name, category, created_at, updated_at)
    SELECT 'SKU' || i, '商品 ' || i, '類別 ' || (i % :categories), now(), now() FROM generate_series(0, :products - 1) i
"""


def _ensure_database(url: str, reuse: bool) -> None:
    server, name = url.rsplit("/", 1)
    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not reuse:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _timed(label: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def _fill(connection: Connection, args: argparse.Namespace) -> None:
    params = {
        "stores": STORES,
        "members": args.members,
        "purchases": args.purchases,
        "products": PRODUCTS,
        "categories": CATEGORIES,
    }
    connection.execute(text("SET synchronous_commit = off"))
    connection.execute(text("SET maintenance_work_mem = '512MB'"))
    if not connection.scalar(text("SELECT count(*) FROM members")):
        print(f"filling {args.members:,} members and {args.purchases:,} purchases", flush=True)
        for statement in BASE:
            _timed(statement.split()[2], lambda s=statement: connection.execute(text(s), params))  # type: ignore[misc]
        # The purchase table's own indexes, exactly as the migrations made them, built again after the load.
        indexes = connection.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'purchases' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ).all()
        for name, _ in indexes:
            connection.execute(text(f'DROP INDEX "{name}"'))
        # The foreign keys hold by construction; their per-row triggers would triple the load's time.
        connection.execute(text("SET session_replication_role = replica"))
        _timed("purchases", lambda: connection.execute(text(PURCHASES), params))
        connection.execute(text("SET session_replication_role = DEFAULT"))
        for name, definition in indexes:
            _timed(f"index {name}", lambda d=definition: connection.execute(text(d)))  # type: ignore[misc]
    if "products" in inspect(connection).get_table_names() and not connection.scalar(
        text("SELECT count(*) FROM products")
    ):
        _timed("products", lambda: connection.execute(text(PRODUCTS_FILL), params))


def _nightly(sessions: Callable[[], Session], at: datetime, compute: bool) -> int:
    """The RFM job (timed), and a manual tag on 1 % of members (once); returns the tag's id."""
    with sessions() as session, session.begin():
        if compute:
            _timed("RFM groups (nightly job)", lambda: compute_rfm(session, at, TZ))
        tag_id = session.scalar(select(Tag.id).where(Tag.name == "bench"))
        if tag_id is None:
            tag = Tag(name="bench", kind="manual")
            session.add(tag)
            session.flush()
            tag_id = tag.id
            session.execute(
                text(
                    "INSERT INTO member_tags (member_id, tag_id, added_at) "
                    "SELECT id, :tag, now() FROM members WHERE id % 100 = 3"
                ),
                {"tag": tag_id},
            )
    return tag_id


def _cases(first_store: int, tag_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "typical: gold + store 1 in 90 d + NT$1,000 in 90 d + consent",
            {
                "all": [
                    {"type": "tier", "tiers": ["gold"]},
                    {"type": "visited_store", "store_ids": [first_store], "days": 90},
                    {"type": "spend", "days": 90, "min": 1000},
                    {"type": "marketing_consent", "value": True},
                ]
            },
        ),
        (
            "silver/gold + 3 stores in 30 d + 2 visits in 90 d",
            {
                "all": [
                    {"type": "tier", "tiers": ["silver", "gold"]},
                    {"type": "visited_store", "store_ids": [first_store, first_store + 1, first_store + 2], "days": 30},
                    {"type": "visits", "days": 90, "min": 2},
                ]
            },
        ),
        (
            "NT$3,000 in 365 d, not seen in 30 d",
            {"all": [{"type": "spend", "days": 365, "min": 3000}, {"not": {"type": "visits", "days": 30, "min": 1}}]},
        ),
        (
            "gold or silver at home store 1, avg basket >= 800 in 180 d",
            {
                "all": [
                    {"any": [{"type": "tier", "tiers": ["gold"]}, {"type": "home_store", "store_ids": [first_store]}]},
                    {"type": "avg_basket", "days": 180, "min": 800},
                ]
            },
        ),
        (
            "bought category 3 in 30 d + consent",
            {
                "all": [
                    {"type": "bought_category", "categories": ["類別 3"], "days": 30},
                    {"type": "marketing_consent", "value": True},
                ]
            },
        ),
        (
            "RFM champions or loyal, not gold",
            {
                "all": [
                    {"type": "rfm_group", "groups": ["champions", "loyal"]},
                    {"not": {"type": "tier", "tiers": ["gold"]}},
                ]
            },
        ),
        (
            "tagged + NT$500 in 90 d",
            {"all": [{"type": "tags", "tag_ids": [tag_id]}, {"type": "spend", "days": 90, "min": 500}]},
        ),
    ]


def _time(sessions: Callable[[], Session], runs: int, build: Callable[[Session], Any]) -> tuple[int, float, float]:
    times, found = [], 0
    for _ in range(runs):
        with sessions() as session:
            started = time.perf_counter()
            found = count(session, build(session))
            times.append(time.perf_counter() - started)
    return found, statistics.median(times) * 1000, max(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/omo_segbench")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the database (and its data) from an earlier run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the typical segment")
    parser.add_argument("--cases", help="only these cases, by number (1 is the typical segment), e.g. 1,5")
    parser.add_argument("--skip-nightly", action="store_true", help="keep the stored RFM groups (--reuse)")
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    _ensure_database(url, args.reuse)
    _timed("migrations", lambda: upgrade_database(url))
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with engine.begin() as connection:
        _fill(connection, args)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        _timed("VACUUM ANALYZE", lambda: connection.execute(text("VACUUM ANALYZE")))
        members = connection.scalar(text("SELECT count(*) FROM members"))
        purchases = connection.scalar(text("SELECT count(*) FROM purchases"))
        first_store = connection.scalar(text("SELECT min(id) FROM stores"))
    print(f"database: {members:,} members, {purchases:,} purchases")
    at = datetime.now(UTC)
    tag_id = _nightly(sessions, at, compute=not args.skip_nightly)
    cases = _cases(first_store, tag_id)
    chosen = {int(n) for n in args.cases.split(",")} if args.cases else set(range(1, len(cases) + 1))
    for name, definition in (case for number, case in enumerate(cases, 1) if number in chosen):
        found, median, worst = _time(sessions, args.runs, lambda s, d=definition: members_matching(s, d, at, TZ))  # type: ignore[misc]
        reach, r_median, r_worst = _time(
            sessions,
            args.runs,
            lambda s, d=definition: audience_for_marketing(s, d, at, TZ),  # type: ignore[misc]
        )
        with sessions() as session:
            started = time.perf_counter()
            shown = sample(session, members_matching(session, definition, at, TZ))
            sample_ms = (time.perf_counter() - started) * 1000
        print(f"{name}\n    members  {found:>9,}   median {median:7.0f} ms   worst {worst:7.0f} ms")
        print(f"    audience {reach:>9,}   median {r_median:7.0f} ms   worst {r_worst:7.0f} ms")
        print(f"    sample of {len(shown)} in {sample_ms:.0f} ms: {', '.join(s.member_number for s in shown[:3])}, …")
    if args.explain:
        typical = cases[0][1]
        with sessions() as session:
            query = select(text("count(*)")).select_from(members_matching(session, typical, at, TZ).subquery())
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            for (line,) in session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {compiled}")):
                print(line)
    engine.dispose()


if __name__ == "__main__":
    main()
