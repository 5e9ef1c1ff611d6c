"""Campaign report and programme dashboard benchmark (issue 14, part 5): the time to build a campaign's report over
`--recipients` recipients and the dashboard, on PostgreSQL.

Fills an empty, migrated PostgreSQL database with `--recipients` members (all bound to LINE, 2 % blocked since the
campaign), one campaign started 10 days ago whose recipients are all of them (10 % holdout, 45 % A, 44 % B, 1 %
capped; the sent ones in outbox rows of 500, one in twenty failed; half with a coupon, a fifth of those redeemed) and
`--purchases` purchases over the last 120 days (a tenth partly refunded), with SQL `generate_series`, runs ANALYZE,
then times `campaign_report` for windows of 14 and 90 days and `programme_dashboard`, `--runs` times each (median
and worst). A database that already holds members is reused as it is.

    psql -h 127.0.0.1 -U postgres -c 'create database omo_reportbench'
    .venv/bin/python bench/report_bench.py --database-url postgresql://postgres@127.0.0.1/omo_reportbench
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from bot.cli import upgrade_database
from bot.db import make_engine, make_session_factory
from bot.services.marketing.dashboard import programme_dashboard
from bot.services.marketing.reports import campaign_report
from bot.settings import normalise_database_url
from models import Campaign

TZ = ZoneInfo("Asia/Taipei")
STORES = 20

FILL = [
    """INSERT INTO stores (code, name, is_online, created_at)
       SELECT 'R' || s, '門市 ' || s, s = 1, now() FROM generate_series(1, :stores) s""",
    """INSERT INTO line_users (line_user_id, is_blocked, blocked_at, rich_menu_state, created_at)
       SELECT 'U' || lpad(to_hex(i), 32, '0'), i % 50 = 0,
              CASE WHEN i % 50 = 0 THEN now() - interval '5 days' END, 'member', now()
       FROM generate_series(1, :members) i""",
    # Friendship history (the report's "blocked since"): every user followed long ago; the 2 % blocked now blocked
    # 5 days ago; 1 % blocked 8 days ago and came back, 2 % blocked 30 days ago and came back.
    """INSERT INTO line_friendship_events (line_user_id, kind, at)
       SELECT id, 'follow', now() - interval '200 days' FROM line_users""",
    """INSERT INTO line_friendship_events (line_user_id, kind, at)
       SELECT id, 'unfollow', blocked_at FROM line_users WHERE is_blocked""",
    """INSERT INTO line_friendship_events (line_user_id, kind, at)
       SELECT id, k.kind, now() - k.ago FROM line_users,
              (VALUES ('unfollow', interval '8 days'), ('follow', interval '7 days')) k(kind, ago)
       WHERE id % 100 = 1""",
    """INSERT INTO line_friendship_events (line_user_id, kind, at)
       SELECT id, k.kind, now() - k.ago FROM line_users,
              (VALUES ('unfollow', interval '30 days'), ('follow', interval '29 days')) k(kind, ago)
       WHERE id % 50 = 3""",
    """INSERT INTO members (member_number, name, tier, home_store_id, line_user_id, source, created_at)
       SELECT 'R' || lpad(i::text, 9, '0'), '會員' || i, 'regular', (SELECT min(id) FROM stores) + i % :stores,
              (SELECT min(id) FROM line_users) + i - 1, 'line', now() - (i % 400) * interval '1 day'
       FROM generate_series(1, :members) i""",
    """INSERT INTO binding_audit (member_id, line_user_id, action, channel, created_at)
       SELECT id, line_user_id, 'bind', 'line_page', created_at FROM members""",
    """INSERT INTO segments (name, definition, updated_at, created_at)
       VALUES ('全部', '{"type": "line_bound", "value": true}', now(), now())""",
    """INSERT INTO coupon_templates (code, name, kind, value, min_spend, issued_count, is_active,
                                     redeemable_without_member, created_at)
       VALUES ('BENCH', '滿 300 折 50', 'amount_off', 50, 300, 0, true, false, now())""",
    """INSERT INTO campaigns (name, segment_id, variants, holdout_percent, b_percent, status, send_at, started_at,
                              created_at)
       SELECT '效能測試', (SELECT min(id) FROM segments), '[{"kind": "text", "text": "hi"}]', 10, 50, 'started',
              now() - interval '10 days', now() - interval '10 days', now() - interval '10 days'""",
    """INSERT INTO outbound_messages (kind, recipients, messages, retry_key, status, attempts, created_at)
       SELECT 'multicast', '[]', '[]', 'bench-' || c, CASE WHEN c % 20 = 0 THEN 'failed' ELSE 'sent' END, 1,
              now() - interval '10 days'
       FROM generate_series(0, :members / 500) c""",
    """INSERT INTO coupons (template_id, member_id, code, source, source_key, valid_from, redeemed_at, created_at)
       SELECT (SELECT min(id) FROM coupon_templates), m.id, 'RB' || m.id, 'campaign', 'bench:' || m.id,
              now() - interval '10 days', CASE WHEN m.id % 10 = 0 THEN now() - interval '3 days' END,
              now() - interval '10 days'
       FROM members m WHERE m.id % 2 = 0 AND m.id % 100 >= 10""",
    """INSERT INTO campaign_recipients (campaign_id, member_id, cohort, outbound_message_id, coupon_id, created_at)
       SELECT (SELECT min(id) FROM campaigns), m.id,
              CASE WHEN m.id % 100 < 10 THEN 'holdout' WHEN m.id % 100 < 55 THEN 'A'
                   WHEN m.id % 100 < 99 THEN 'B' ELSE 'capped' END,
              CASE WHEN m.id % 100 BETWEEN 10 AND 98
                   THEN (SELECT min(id) FROM outbound_messages) + (m.id - (SELECT min(id) FROM members)) / 500 END,
              c.id, now() - interval '10 days'
       FROM members m LEFT JOIN coupons c ON c.member_id = m.id""",
    """INSERT INTO purchases (store_id, channel, transaction_id, request_hash, member_id, amount, points_earned,
                             refunded_amount, response, created_at)
       SELECT (SELECT min(id) FROM stores) + p % :stores, CASE WHEN p % :stores = 0 THEN 'online' ELSE 'pos' END,
              'T' || p, '', (SELECT min(id) FROM members) + (random() * (:members - 1))::int, 100 + p % 1900, 0,
              CASE WHEN p % 10 = 0 THEN 50 ELSE 0 END, '{}', now() - random() * interval '120 days'
       FROM generate_series(1, :purchases) p""",
]


def _time(label: str, runs: int, work: Callable[[], object]) -> None:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        took.append(time.perf_counter() - started)
    print(f"{label}: median {statistics.median(took) * 1000:.0f} ms, worst {max(took) * 1000:.0f} ms ({runs} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (empty, or filled by this script)")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with engine.begin() as connection:
        if not connection.scalar(text("SELECT count(*) FROM members")):
            started = time.perf_counter()
            params = {"stores": STORES, "members": args.recipients, "purchases": args.purchases}
            for statement in FILL:
                connection.execute(text(statement), params)
            took = time.perf_counter() - started
            print(f"filled {args.recipients:,} recipients, {args.purchases:,} purchases in {took:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    with sessions() as session:
        campaign = session.scalars(select(Campaign).order_by(Campaign.id)).first()
        assert campaign is not None
        report = campaign_report(session, campaign, 14)
        assert report is not None
        total = report.total
        print(
            f"recipients {total.recipients:,}, delivered {total.delivered:,}, failed {total.failed:,}, "
            f"blocked since {total.blocked:,}, coupons {total.coupons_issued:,} / {total.coupons_redeemed:,}, "
            f"14-day orders {total.sales.orders:,}, revenue NT${total.sales.revenue:,}"
        )
        _time("campaign report, 14 days", args.runs, lambda: campaign_report(session, campaign, 14))
        _time("campaign report, 90 days", args.runs, lambda: campaign_report(session, campaign, 90))
        _time("programme dashboard", args.runs, lambda: programme_dashboard(session, datetime.now(UTC), TZ))


if __name__ == "__main__":
    main()
