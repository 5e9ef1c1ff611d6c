"""Campaigns: recipients resolved when sent, chunks of at most 500 in outbox rows written with the recipients in one
transaction, holdout and A/B cohorts, the weekly cap, the quiet hours, coupons once per member, personal fields,
and delivery to the local LINE platform that survives a worker dying mid-campaign."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot import campaign_runner, tasks
from bot.clock import FixedClock
from bot.db import transaction
from bot.delivery import deliver
from bot.line_client import LineDeliveryError
from bot.services.marketing import campaign_start, campaigns
from bot.services.marketing.campaign_messages import CampaignInvalid, Personal, fill
from models import CampaignRecipient, Consent, Coupon, LineUser, Member, OutboundMessage
from tests.binding_helpers import friend
from tests.campaign_helpers import TAIPEI, campaign, consenting_members, make_campaign, make_segment
from tests.coupon_helpers import make_template
from tests.factories import make_member

# 14:00 in Taipei (a Monday), well outside the quiet hours.
NOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def _start(runtime, at: datetime, *, send: bool = False, cap: int = campaigns.WEEKLY_CAP) -> list[int]:
    """Start the campaigns due at `at` step by step as the minute job does; the outbox ids written (delivered after
    the commits when `send`)."""
    if isinstance(runtime.clock, FixedClock):
        runtime.clock.set(at)
    else:
        runtime.clock = FixedClock(at)
    runtime.settings = dataclasses.replace(runtime.settings, marketing_pushes_per_week=cap)
    queue = runtime.after_commit
    if not send:
        runtime.after_commit = lambda work: None
    try:
        with runtime.sessions() as session:
            due = campaigns.due_campaigns(session, at, TAIPEI)
        written = []
        for campaign_id in due:
            started = campaign_runner.start(runtime, campaign_id)
            written += started.written if started else []
        return written
    finally:
        runtime.after_commit = queue


def _rows(session, campaign_id: int) -> list[OutboundMessage]:
    ids = select(CampaignRecipient.outbound_message_id).where(CampaignRecipient.campaign_id == campaign_id)
    return list(
        session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids)).order_by(OutboundMessage.id))
    )


def _cohorts(session, campaign_id: int) -> dict[int, str]:
    rows = session.execute(
        select(CampaignRecipient.member_id, CampaignRecipient.cohort).where(
            CampaignRecipient.campaign_id == campaign_id
        )
    )
    return {member_id: cohort for member_id, cohort in rows}


def test_1201_recipients_become_three_multicast_rows_of_at_most_500_each_with_its_own_retry_key(runtime, session):
    audience = consenting_members(runtime.sessions, 1201)
    campaign_id = make_campaign(runtime.sessions, NOON)

    written = _start(runtime, NOON)
    again = _start(runtime, NOON + timedelta(minutes=1))

    rows = _rows(session, campaign_id)
    assert [row.id for row in rows] == sorted(written) and again == []
    assert [len(row.recipients) for row in rows] == [500, 500, 201]
    assert {row.kind for row in rows} == {"multicast"}
    assert len({row.retry_key for row in rows}) == 3
    sent_to = [user for row in rows for user in row.recipients]
    assert sorted(sent_to) == sorted(line_user_id for _, line_user_id in audience)
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 3
    assert campaign(session, campaign_id).status == "started"
    assert set(_cohorts(session, campaign_id).values()) == {"A"}


def test_the_holdout_is_recorded_and_never_sent_and_b_gets_its_own_message(runtime, session):
    audience = dict(consenting_members(runtime.sessions, 40))
    campaign_id = make_campaign(
        runtime.sessions,
        NOON,
        variants=[{"kind": "text", "text": "A 版"}, {"kind": "text", "text": "B 版"}],
        holdout_percent=25,
        b_percent=50,
    )

    _start(runtime, NOON)

    cohorts = _cohorts(session, campaign_id)
    held = {audience[m] for m, cohort in cohorts.items() if cohort == "holdout"}
    sent = {row.messages[0]["text"]: set(row.recipients) for row in _rows(session, campaign_id)}
    assert len(held) == 10
    assert sorted(len(users) for users in sent.values()) == [15, 15]
    assert sent["A 版"] == {audience[m] for m, cohort in cohorts.items() if cohort == "A"}
    assert sent["B 版"] == {audience[m] for m, cohort in cohorts.items() if cohort == "B"}
    assert not held & (sent["A 版"] | sent["B 版"])
    progress = campaigns.progress(session, campaign(session, campaign_id), NOON)
    assert (progress.recipients, progress.holdout, progress.remaining) == (40, 10, 30)


def test_blocked_unbound_erased_and_non_consenting_members_are_left_out(runtime, session):
    (kept, kept_user), (blocked, _), (erased, _), (withdrew, _) = consenting_members(runtime.sessions, 4)
    make_member(runtime.sessions, phone=None)  # never bound
    with transaction(runtime.sessions) as tx:
        tx.execute(
            update(LineUser)
            .where(LineUser.line_user_id != kept_user)
            .where(LineUser.id.in_(select(Member.line_user_id).where(Member.id == blocked)))
            .values(is_blocked=True)
        )
        tx.execute(update(Member).where(Member.id == erased).values(erased_at=NOON))
        tx.add(
            Consent(
                member_id=withdrew, terms_version="v1", privacy_version="v1", marketing_opt_in=False, channel="line"
            )
        )
    campaign_id = make_campaign(runtime.sessions, NOON)

    _start(runtime, NOON)

    assert _cohorts(session, campaign_id) == {kept: "A"}
    assert [row.recipients for row in _rows(session, campaign_id)] == [[kept_user]]


def test_the_weekly_cap_holds_back_a_third_marketing_push_within_seven_days(runtime, session, clock):
    ((member_id, _),) = consenting_members(runtime.sessions, 1)
    clock.set(NOON)
    days = (0, 1, 2, 8)
    made = [make_campaign(runtime.sessions, NOON, name=f"第{d}天", send_at=NOON + timedelta(days=d)) for d in days]
    for day in days:
        clock.set(NOON + timedelta(days=day))
        _start(runtime, clock.now())

    cohorts = [_cohorts(session, campaign_id)[member_id] for campaign_id in made]
    assert cohorts == ["A", "A", "capped", "A"]
    assert _rows(session, made[2]) == []
    assert campaigns.progress(session, campaign(session, made[2]), clock.now()).capped == 1


def test_quiet_hours_hold_a_campaign_until_nine_in_the_morning_taipei_time(runtime, session, clock):
    consenting_members(runtime.sessions, 3)
    late_evening = datetime(2026, 11, 30, 22, 30, tzinfo=TAIPEI)
    clock.set(late_evening)
    campaign_id = make_campaign(runtime.sessions, clock.now())  # "send now" at 22:30

    assert _start(runtime, clock.now()) == []
    clock.set(datetime(2026, 12, 1, 8, 59, tzinfo=TAIPEI))
    assert _start(runtime, clock.now()) == []
    assert campaign(session, campaign_id).status == "scheduled"
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TAIPEI))
    assert len(_start(runtime, clock.now())) == 1
    assert campaign(session, campaign_id).status == "started"
    assert campaigns.quiet_hours_end(late_evening, TAIPEI) == datetime(2026, 12, 1, 9, 0, tzinfo=TAIPEI)
    assert campaigns.quiet_hours_end(NOON, TAIPEI) == NOON


def test_a_coupon_is_issued_once_per_member_even_when_the_job_runs_twice(runtime, session):
    audience = consenting_members(runtime.sessions, 5)
    template = make_template(runtime.sessions)
    campaign_id = make_campaign(runtime.sessions, NOON, coupon_template_id=template.id, holdout_percent=20)

    _start(runtime, NOON)
    _start(runtime, NOON + timedelta(minutes=1))

    coupons = session.execute(select(Coupon.member_id, Coupon.source_key)).all()
    sent = {m for m, cohort in _cohorts(session, campaign_id).items() if cohort == "A"}
    assert len(sent) == 4 and len(audience) == 5
    assert sorted(coupons) == sorted((m, f"campaign:{campaign_id}:{m}") for m in sent)
    (row,) = _rows(session, campaign_id)
    assert row.messages[1]["text"] == "已送您一張優惠券「滿 300 折 50」，可在選單的「優惠券」查看與使用。"


def test_personal_fields_are_filled_once_and_braces_in_a_name_stay_literal(runtime, session):
    tricky = "{points}{name}{0}{__class__}"
    audience = dict(consenting_members(runtime.sessions, 2, names=[tricky, "王大明"]))
    campaign_id = make_campaign(
        runtime.sessions, NOON, variants=[{"kind": "text", "text": "{name} 您好，您有 {points} 點 {other}"}]
    )

    _start(runtime, NOON)

    rows = _rows(session, campaign_id)
    assert sorted((row.kind, row.recipients[0], row.messages[0]["text"]) for row in rows) == sorted(
        [
            ("push", audience[min(audience)], f"{tricky} 您好，您有 0 點 {{other}}"),
            ("push", audience[max(audience)], "王大明 您好，您有 0 點 {other}"),
        ]
    )
    assert fill("{name}{points}", Personal(None, 1234)) == "會員1,234"


def test_a_card_is_validated_and_rendered_as_a_flex_bubble(runtime, session):
    consenting_members(runtime.sessions, 2)
    with pytest.raises(CampaignInvalid) as refused:
        make_campaign(
            runtime.sessions,
            NOON,
            variants=[
                {
                    "kind": "card",
                    "title": "新品",
                    "body": "看看",
                    "button_label": "看",
                    "button_url": "javascript:alert(1)",
                }
            ],
        )
    assert refused.value.message == "按鈕連結須為 https:// 開頭的網址"
    card = {
        "kind": "card",
        "title": "新品上市",
        "body": "{name}，新品到店",
        "button_label": "看新品",
        "button_url": "https://shop.example.com/new",
        "image_url": "https://shop.example.com/new.jpg",
    }
    campaign_id = make_campaign(runtime.sessions, NOON, variants=[card])

    _start(runtime, NOON)

    flex = [row.messages[0] for row in _rows(session, campaign_id)]
    assert {message["type"] for message in flex} == {"flex"} and len(flex) == 2
    assert flex[0]["contents"]["footer"]["contents"][0]["action"]["uri"] == "https://shop.example.com/new"
    assert flex[0]["contents"]["hero"]["url"] == "https://shop.example.com/new.jpg"


def test_a_cancelled_campaign_is_never_sent(runtime, session):
    consenting_members(runtime.sessions, 2)
    campaign_id = make_campaign(runtime.sessions, NOON)
    with transaction(runtime.sessions) as tx:
        assert campaigns.cancel_campaign(tx, campaign_id, staff_id=None)
    assert _start(runtime, NOON) == []
    assert campaign(session, campaign_id).status == "cancelled"
    with transaction(runtime.sessions) as tx:
        assert not campaigns.cancel_campaign(tx, campaign_id, staff_id=None)


def _platform_members(runtime, platform, n: int) -> list[str]:
    users = []
    for i in range(n):
        user = friend(platform, f"顧客{i}")
        member = make_member(runtime.sessions, phone=None, name=f"顧客{i}", bound_to=user)
        with transaction(runtime.sessions) as tx:
            tx.add(
                Consent(
                    member_id=member.id, terms_version="v1", privacy_version="v1", marketing_opt_in=True, channel="line"
                )
            )
        users.append(user)
    return users


def test_a_worker_killed_mid_campaign_resumes_from_the_outbox_and_nobody_gets_it_twice_or_not_at_all(
    runtime, session, platform, clock, monkeypatch
):
    monkeypatch.setattr(campaign_start, "MULTICAST_MAX", 2)
    users = _platform_members(runtime, platform, 5)
    clock.set(NOON)
    campaign_id = make_campaign(runtime.sessions, clock.now(), variants=[{"kind": "text", "text": "雙11 快閃"}])
    before = {user: platform.bot_messages(user) for user in users}

    # The job commits the chunks, then its worker dies before sending any of them; the job runs again.
    written = _start(runtime, clock.now(), send=False)
    assert _start(runtime, clock.now(), send=False) == []
    assert [len(row.recipients) for row in _rows(session, campaign_id)] == [2, 2, 1]
    # One chunk goes out, then the worker dies again.
    deliver(runtime.sessions, runtime.line, written[0], clock.now())
    progress = campaigns.progress(session, campaign(session, campaign_id), clock.now())
    assert (progress.sent, progress.remaining, progress.failed) == (2, 3, 0)
    clock.advance(minutes=16)
    assert campaigns.progress(session, campaign(session, campaign_id), clock.now()).stuck

    tasks.sweep_stalled_work.call_local()
    tasks.sweep_stalled_work.call_local()

    for user in users:
        new = platform.bot_messages(user)[len(before[user]) :]
        assert [m.get("text") for m in new] == ["雙11 快閃"], user
    progress = campaigns.progress(session, campaign(session, campaign_id), clock.now())
    assert (progress.recipients, progress.sent, progress.remaining, progress.stuck) == (5, 5, 0, False)


def test_the_minute_job_starts_a_due_campaign_and_delivers_it_to_the_local_line_platform(runtime, platform, clock):
    users = _platform_members(runtime, platform, 3)
    clock.set(NOON)
    make_campaign(
        runtime.sessions,
        clock.now(),
        send_at=NOON + timedelta(minutes=5),
        variants=[{"kind": "text", "text": "{name}，週末見"}],
    )

    tasks.send_due_campaigns.call_local()
    assert all("週末見" not in str(platform.bot_messages(user)) for user in users)
    clock.advance(minutes=5)
    tasks.send_due_campaigns.call_local()
    tasks.send_due_campaigns.call_local()

    for i, user in enumerate(users):
        said = [m.get("text") for m in platform.bot_messages(user)]
        assert said.count(f"顧客{i}，週末見") == 1, said


def test_workers_starting_the_same_campaign_at_once_claim_it_once(runtime, session):
    consenting_members(runtime.sessions, 30)
    campaign_id = make_campaign(runtime.sessions, NOON)
    runtime.clock = FixedClock(NOON)
    runtime.after_commit = lambda work: None

    with ThreadPoolExecutor(4) as pool:
        started = list(pool.map(lambda _: campaign_runner.start(runtime, campaign_id), range(4)))

    assert sorted(s is not None for s in started) == [False, False, False, True]
    assert len(_rows(session, campaign_id)) == 1
    assert session.scalar(select(func.count()).select_from(CampaignRecipient)) == 30


def test_workers_resuming_the_same_start_at_once_put_each_member_in_exactly_one_chunk(runtime, session, monkeypatch):
    monkeypatch.setattr(campaign_start, "MEMBERS_PER_STEP", 7)
    monkeypatch.setattr(campaign_start, "MULTICAST_MAX", 3)
    audience = consenting_members(runtime.sessions, 31)
    campaign_id = make_campaign(runtime.sessions, NOON)
    runtime.clock = FixedClock(NOON)
    runtime.after_commit = lambda work: None
    with transaction(runtime.sessions) as tx:
        assert campaign_start.claim_campaign(tx, campaign_id, NOON, TAIPEI)

    with ThreadPoolExecutor(4) as pool:
        resumed = list(pool.map(lambda _: campaign_runner.resume(runtime, campaign_id), range(4)))

    rows = _rows(session, campaign_id)
    sent_to = [user for row in rows for user in row.recipients]
    assert sorted(sent_to) == sorted(user for _, user in audience)
    # 7 members a step: chunks of 3, 3, 1 for each of 4 full steps, then 3 members: 3.
    assert len(rows) == 13 and len({row.retry_key for row in rows}) == 13
    assert sorted(sum(len(r.written) for r in resumed) for _ in [0]) == [13]
    assert campaign(session, campaign_id).chunks_written == 13
    assert campaign(session, campaign_id).prepared_at is not None


def test_a_campaign_that_cannot_start_stays_scheduled_and_does_not_hold_back_the_others(app, runtime, session, clock):
    consenting_members(runtime.sessions, 2)
    clock.set(NOON)
    broken = make_segment(runtime.sessions, name="壞掉的分群", definition={"type": "no-such-condition"})
    stuck = make_campaign(runtime.sessions, NOON, name="壞", segment_id=broken)
    fine = make_campaign(runtime.sessions, NOON, name="好")

    tasks.send_due_campaigns.call_local()

    assert (campaign(session, stuck).status, campaign(session, fine).status) == ("scheduled", "started")
    assert len(_rows(session, fine)) == 1


def test_a_chunk_refused_429_is_never_shown_delivered_and_429s_do_not_open_the_breaker(
    runtime, session, platform, clock
):
    users = _platform_members(runtime, platform, 3)
    clock.set(NOON)
    campaign_id = make_campaign(runtime.sessions, clock.now())
    written = _start(runtime, clock.now())
    platform.fail_next("/v2/bot/message/multicast", 429, times=100)

    assert deliver(runtime.sessions, runtime.line, written[0], clock.now()) == "pending"
    for _ in range(runtime.settings.line_breaker_failures + 1):
        with pytest.raises(LineDeliveryError):
            runtime.line.multicast(users, [{"type": "text", "text": "x"}], str(uuid.uuid4()))

    row = session.get(OutboundMessage, written[0])
    assert row is not None and row.status == "pending" and "429" in (row.error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > clock.now()
    assert runtime.line.breaker.state == "closed"
    progress = campaigns.progress(session, campaign(session, campaign_id), clock.now())
    assert (progress.sent, progress.failed, progress.remaining) == (0, 0, 3)
    assert all("週年慶全面 85 折" not in str(platform.bot_messages(user)) for user in users)
