"""Segment evaluation benchmark (issue 14): the time to count a typical segment on PostgreSQL.

Fills an empty, migrated PostgreSQL database (created and migrated here) with `--members` members (70 % bound to
LINE, 60 % with marketing consent, tiers and home stores spread over 20 stores) and `--purchases` purchases spread
over the last 365 days, all with SQL `generate_series` (seconds, not hours), runs ANALYZE, then times `count` of:

* the issue's typical segment — gold tier + visited store 1 in 90 days + spent NT$1,000 or more in 90 days +
  marketing consent — as members and as the marketing audience (bound, not blocked, consenting, not erased);
* a wider one — any tier, spent NT$3,000 or more in 365 days, not seen in the last 30 days.

Each is counted `--runs` times (the first run warms the cache) and the median and worst are printed. A database that
already holds members is reused as it is, so repeated runs time the same data.

    psql -h 127.0.0.1 -U postgres -c 'create database omo_segbench'
    .venv/bin/python bench/segment_bench.py --database-url postgresql://postgres@127.0.0.1/omo_segbench \\
        --members 1000000 --purchases 10000000
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.cli import upgrade_database
from bot.db import make_engine, make_session_factory
from bot.services.marketing.segments import audience_for_marketing, count, members_matching
from bot.settings import normalise_database_url

TZ = ZoneInfo("Asia/Taipei")
STORES = 20

FILL = [
    """INSERT INTO stores (code, name, is_online, created_at)
       SELECT 'B' || s, '門市 ' || s, false, now() FROM generate_series(1, :stores) s""",
    """INSERT INTO line_users (line_user_id, is_blocked, rich_menu_state, created_at)
       SELECT 'U' || lpad(to_hex(i), 32, '0'), random() < 0.05, 'member', now()
       FROM generate_series(1, :members) i WHERE i % 10 < 7""",
    """INSERT INTO members (member_number, name, tier, home_store_id, line_user_id, source, created_at)
       SELECT 'B' || lpad(i::text, 9, '0'), '會員' || i,
              (ARRAY['regular', 'regular', 'regular', 'silver', 'gold'])[1 + i % 5],
              (SELECT min(id) FROM stores) + i % :stores,
              (SELECT id FROM line_users WHERE line_user_id = 'U' || lpad(to_hex(i), 32, '0')),
              (ARRAY['line', 'counter', 'api', 'pos_import'])[1 + i % 4],
              now() - (i % 1000) * interval '1 day'
       FROM generate_series(1, :members) i""",
    """INSERT INTO consents (member_id, terms_version, privacy_version, marketing_opt_in, channel, created_at)
       SELECT id, '1', '1', random() < 0.6, 'line', created_at FROM members""",
    """INSERT INTO purchases (store_id, channel, transaction_id, request_hash, member_id, amount, points_earned,
                             refunded_amount, response, created_at)
       SELECT (SELECT min(id) FROM stores) + (random() * (:stores - 1))::int, 'pos', 'T' || p, '',
              (SELECT min(id) FROM members) + (random() * (:members - 1))::int, (50 + random() * 2000)::int, 0, 0,
              '{}', now() - random() * interval '365 days'
       FROM generate_series(1, :purchases) p""",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (empty, or filled by this script)")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with engine.begin() as connection:
        filled = connection.scalar(text("SELECT count(*) FROM members"))
        if not filled:
            started = time.perf_counter()
            params = {"stores": STORES, "members": args.members, "purchases": args.purchases}
            for statement in FILL:
                connection.execute(text(statement), params)
            took = time.perf_counter() - started
            print(f"filled {args.members:,} members and {args.purchases:,} purchases in {took:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
        members = connection.scalar(text("SELECT count(*) FROM members"))
        purchases = connection.scalar(text("SELECT count(*) FROM purchases"))
        first_store = connection.scalar(text("SELECT min(id) FROM stores"))
    print(f"database: {members:,} members, {purchases:,} purchases")
    at = datetime.now(UTC)
    typical = {
        "all": [
            {"type": "tier", "tiers": ["gold"]},
            {"type": "visited_store", "store_ids": [first_store], "days": 90},
            {"type": "spend", "days": 90, "min": 1000},
            {"type": "marketing_consent", "value": True},
        ]
    }
    wider = {
        "all": [
            {"type": "spend", "days": 365, "min": 3000},
            {"not": {"type": "visits", "days": 30, "min": 1}},
        ]
    }
    cases = [
        ("typical segment, members", lambda s: members_matching(s, typical, at, TZ)),
        ("typical segment, marketing audience", lambda s: audience_for_marketing(s, typical, at, TZ)),
        ("wider segment, members", lambda s: members_matching(s, wider, at, TZ)),
    ]
    for name, query in cases:
        times, found = [], 0
        for _ in range(args.runs):
            with sessions() as session:
                started = time.perf_counter()
                found = count(session, query(session))
                times.append(time.perf_counter() - started)
        median, worst = statistics.median(times) * 1000, max(times) * 1000
        print(f"{name:40} {found:>10,} members   median {median:8.1f} ms   worst {worst:8.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
