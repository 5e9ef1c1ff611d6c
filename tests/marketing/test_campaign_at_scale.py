"""A campaign to 100,000 members through the local LINE platform, with its worker process killed twice (once while
the campaign's rows are being written, once while its chunks are being sent) and the work resumed: every member gets
the message exactly once, in 200 multicasts of 500, and no chunk is skipped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import tasks
from bot.devline.state import DevUser
from bot.services.marketing import campaign_start, campaigns
from bot.services.marketing.campaign_start import chunk_retry_key
from models import Campaign, CampaignRecipient, OutboundMessage
from tests.campaign_helpers import make_campaign, many_consenting_members

MEMBERS = int(os.environ.get("CAMPAIGN_TEST_MEMBERS", 100_000))
CHUNKS = MEMBERS // 500
# 14:00 in Taipei, outside the quiet hours.
NOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
TEXT = "雙11 全館 85 折"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run_worker(settings, action: str, campaign_id: int, at: datetime, die: str, log: Path) -> int:
    """Run a worker process until it kills itself at `die`; its exit status."""
    env = {
        **os.environ,
        "APP_ENV": "test",
        "OMO_TESTING": "1",
        "DATABASE_URL": settings.database_url,
        "PUBLIC_BASE_URL": settings.public_base_url,
    }
    command = [sys.executable, "-m", "tests.campaign_worker", action, str(campaign_id), at.isoformat(), die]
    with log.open("ab") as out:  # a pipe nobody reads would fill up and stop the worker
        return subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=out, timeout=600).returncode


def _accepted_multicasts(platform) -> list[dict]:
    with platform.lock:
        return [r for r in platform.requests if r["path"] == "/v2/bot/message/multicast" and r["status"] == 200]


# About 80 s on SQLite and 110 s on PostgreSQL on a loaded 2-core machine (load average about 7).
@pytest.mark.timeout(900)
def test_a_campaign_to_100000_members_survives_its_worker_killed_twice_and_reaches_each_exactly_once(
    runtime, platform, session, clock, tmp_path
):
    clock.set(NOON)
    started = time.monotonic()
    user_ids = many_consenting_members(runtime.sessions, MEMBERS)
    with platform.lock:
        platform.quota_limit = 10 * MEMBERS  # a plan whose monthly quota holds the campaign (the default is 10,000)
        for user_id in user_ids:
            platform.users[user_id] = DevUser(user_id, "好友", "zh-TW", None, friendship="friend")
    print(f"seeded: {time.monotonic() - started:.1f} s")
    campaign_id = make_campaign(runtime.sessions, clock.now(), variants=[{"kind": "text", "text": TEXT}])

    def chunks_written() -> int:
        with runtime.sessions() as s:
            return int(s.scalar(select(Campaign.chunks_written).where(Campaign.id == campaign_id)) or 0)

    log = tmp_path / "worker.log"

    # Killed in its fourth step writing the campaign's outbox chunks (each step 10,000 members: 20 chunks), before
    # that step committed: 60 chunks written, the campaign not prepared, nothing sent.
    assert _run_worker(runtime.settings, "start", campaign_id, clock.now(), "die-in-step:4", log) == -signal.SIGKILL
    assert chunks_written() == 3 * campaign_start.MEMBERS_PER_STEP // 500
    assert _accepted_multicasts(platform) == []
    with runtime.sessions() as s:
        found = s.get(Campaign, campaign_id)
        assert found is not None and found.prepared_at is None
        assert campaigns.progress(s, found, clock.now()).remaining == MEMBERS
    print(f"first worker killed: {time.monotonic() - started:.1f} s")

    # Three minutes later, the minute job in a second worker resumes the start where it stopped, writes the rest, and
    # the worker is killed right after LINE took its 80th multicast, before recording it.
    clock.advance(minutes=3)
    killed = _run_worker(runtime.settings, "job", campaign_id, clock.now(), f"die-after-send:{2 * CHUNKS // 5}", log)
    assert killed == -signal.SIGKILL
    assert chunks_written() == CHUNKS
    assert len(_accepted_multicasts(platform)) == 2 * CHUNKS // 5
    print(f"second worker killed: {time.monotonic() - started:.1f} s")

    # Three minutes later the minute job and the outbox sweep finish it, in this process.
    clock.advance(minutes=3)
    tasks.send_due_campaigns.call_local()
    tasks.sweep_stalled_work.call_local()

    accepted = _accepted_multicasts(platform)
    print(f"finished: {time.monotonic() - started:.1f} s")
    received = Counter(user_id for call in accepted for user_id in call["body"]["to"])
    assert len(accepted) == CHUNKS
    assert len(received) == MEMBERS and set(received.values()) == {1}
    assert sorted(call["retry_key"] for call in accepted) == sorted(
        chunk_retry_key(campaign_id, n) for n in range(1, CHUNKS + 1)
    )
    assert all(len(call["body"]["to"]) == 500 for call in accepted)
    with platform.lock:
        said = Counter(entry["message"].get("text") for user_id in user_ids for entry in platform.chats[user_id])
    assert said == {TEXT: MEMBERS}
    statuses = dict(
        session.execute(
            select(OutboundMessage.status, func.count())
            .where(OutboundMessage.id.in_(select(CampaignRecipient.outbound_message_id)))
            .group_by(OutboundMessage.status)
        )
        .tuples()
        .all()
    )
    assert statuses == {"sent": CHUNKS}
    found = session.get(Campaign, campaign_id)
    assert found is not None
    progress = campaigns.progress(session, found, clock.now())
    assert (progress.recipients, progress.sent, progress.failed, progress.remaining) == (MEMBERS, MEMBERS, 0, 0)
