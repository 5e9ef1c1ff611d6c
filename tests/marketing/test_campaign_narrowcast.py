"""Campaigns sent by LINE narrowcast to an uploaded audience (issue 14, part 4): refused when composed and again
when started under LINE's 50, one audience and one narrowcast per variant with the holdout left out, coupons per
recipient, each step resumed by a killed worker with the same retry key and nobody sent twice, LINE's progress
polled and shown, and a narrowcast LINE failed shown failed, never delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import tasks
from bot.devline.state import DevUser
from bot.services.marketing import campaign_narrowcast, reports
from models import Campaign, CampaignNarrowcast, CampaignRecipient, Coupon
from tests.admin_helpers import crew, send, sign_in
from tests.campaign_helpers import campaign, consenting_members, make_campaign, make_segment
from tests.coupon_helpers import make_template

NOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Taipei
A_TEXT, B_TEXT = "週年慶全面 85 折", "週年慶滿千送百"


def _on_platform(platform, line_user_ids: list[str]) -> None:
    """These members' LINE users, as friends of the account on the local platform."""
    with platform.lock:
        for user_id in line_user_ids:
            platform.users[user_id] = DevUser(user_id, "好友", "zh-TW", None, friendship="friend")
            platform.chats[user_id] = []


def _members(runtime, platform, n: int, *, on_platform: int | None = None) -> dict[int, str]:
    made = consenting_members(runtime.sessions, n)
    _on_platform(platform, [user for _, user in made[: n if on_platform is None else on_platform]])
    return dict(made)


def _texts(platform, user_id: str) -> list[str]:
    return [message.get("text", "") for message in platform.bot_messages(user_id)]


def _calls(platform, path: str) -> list[dict]:
    return [entry for entry in platform.requests if entry["path"].startswith(path)]


def _cohorts(session, campaign_id: int) -> dict[int, str]:
    rows = session.execute(
        select(CampaignRecipient.member_id, CampaignRecipient.cohort).where(
            CampaignRecipient.campaign_id == campaign_id
        )
    )
    return {int(m): str(c) for m, c in rows}


def _rows(session, campaign_id: int) -> list[CampaignNarrowcast]:
    session.expire_all()
    return campaign_narrowcast.narrowcasts(session, campaign_id)


def _form(segment: int, **fields: str) -> dict[str, str]:
    return {
        "name": "週年慶",
        "segment_id": str(segment),
        "kind": "text",
        "text": A_TEXT,
        "holdout_percent": "0",
        "b_percent": "50",
        "when": "now",
        "action": "save",
        "delivery": "narrowcast",
        **fields,
    }


def test_compose_refuses_a_narrowcast_to_fewer_than_50_and_a_personal_message_and_saves_nothing(
    runtime, client, session, clock
):
    clock.set(NOON)
    people = crew(runtime.sessions)
    consenting_members(runtime.sessions, 49)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    small = send(client, "/staff/console/campaigns/new", _form(segment_id))
    consenting_members(runtime.sessions, 1)
    personal = send(client, "/staff/console/campaigns/new", _form(segment_id, text="{name} 您好，週年慶"))
    bad = send(client, "/staff/console/campaigns/new", _form(segment_id, delivery="fax"))

    assert small.status_code == 400
    assert "LINE 的受眾至少要 50 人，這份名單目前只有 49 人，請改用一般發送" in small.get_data(as_text=True)
    assert 'value="narrowcast" checked' in small.get_data(as_text=True)  # the choice is kept on the form
    assert personal.status_code == 400 and "無法填入 {name} 或 {points}" in personal.get_data(as_text=True)
    assert bad.status_code == 400 and "請選擇發送方式" in bad.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_compose_saves_a_narrowcast_of_50_and_the_page_names_the_delivery(runtime, client, session, clock):
    clock.set(NOON)
    people = crew(runtime.sessions)
    consenting_members(runtime.sessions, 50)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    saved = send(client, "/staff/console/campaigns/new", _form(segment_id))
    default = send(client, "/staff/console/campaigns/new", {**_form(segment_id), "delivery": ""})

    assert saved.status_code == default.status_code == 302
    deliveries = list(session.scalars(select(Campaign.delivery).order_by(Campaign.id)))
    assert deliveries == ["narrowcast", "multicast"]
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "LINE 受眾發送（narrowcast）" in page


def test_a_narrowcast_to_120_reaches_each_sent_member_once_by_variant_with_a_coupon_and_never_the_holdout(
    runtime, client, platform, session, clock
):
    clock.set(NOON)
    members = _members(runtime, platform, 120)
    template = make_template(runtime.sessions)
    campaign_id = make_campaign(
        runtime.sessions,
        NOON,
        variants=[{"kind": "text", "text": A_TEXT}, {"kind": "text", "text": B_TEXT}],
        holdout_percent=10,
        b_percent=50,
        coupon_template_id=template.id,
        delivery="narrowcast",
    )

    tasks.send_due_campaigns.call_local()
    tasks.send_due_campaigns.call_local()

    cohorts = _cohorts(session, campaign_id)
    assert sorted(cohorts.values()).count("holdout") == 12
    for member_id, cohort in cohorts.items():
        said = _texts(platform, members[member_id])
        expected = {"A": [A_TEXT], "B": [B_TEXT], "holdout": []}[cohort]
        assert [text for text in said if "週年慶" in text] == expected, (member_id, cohort, said)
    coupons = dict(session.execute(select(Coupon.member_id, func.count()).group_by(Coupon.member_id)).all())
    assert coupons == {m: 1 for m, cohort in cohorts.items() if cohort != "holdout"}
    rows = _rows(session, campaign_id)
    assert [(r.cohort, r.recipients, r.uploaded, r.phase, r.success_count, r.target_count) for r in rows] == [
        ("A", 54, 54, "succeeded", 54, 54),
        ("B", 54, 54, "succeeded", 54, 54),
    ]
    narrowcasts = [c for c in _calls(platform, "/v2/bot/message/narrowcast") if c["status"] == 202]
    assert sorted(c["retry_key"] for c in narrowcasts) == sorted(r.retry_key for r in rows)
    assert _calls(platform, "/v2/bot/message/multicast") == []
    assert campaign(session, campaign_id).prepared_at is not None
    report = reports.campaign_report(session, campaign(session, campaign_id))
    assert report is not None
    assert {row.cohort: (row.delivered, row.failed) for row in report.cohorts if row.cohort in "AB"} == {
        "A": (54, 0),
        "B": (54, 0),
    }

    people = crew(runtime.sessions)
    sign_in(client, people["marketer"].code)
    page = client.get(f"/staff/console/campaigns/{campaign_id}").get_data(as_text=True)
    listing = client.get("/staff/console/campaigns/").get_data(as_text=True)
    assert page.count("已完成") == 2 and 'data-testid="success">54<' in page
    assert "已送出" in page and "已送出" in listing


def test_a_worker_killed_between_the_upload_and_the_narrowcast_resumes_with_the_same_retry_key(
    runtime, platform, session, clock, monkeypatch
):
    clock.set(NOON)
    members = _members(runtime, platform, 60)
    campaign_id = make_campaign(runtime.sessions, NOON, delivery="narrowcast")
    line = runtime.line

    def dies(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(line, "narrowcast", dies)
    with pytest.raises(SystemExit):
        tasks.send_due_campaigns.call_local()
    monkeypatch.undo()
    [row] = _rows(session, campaign_id)
    assert row.audience_group_id is not None and row.uploaded == 60 and row.request_id is None
    assert _calls(platform, "/v2/bot/message/narrowcast") == []

    tasks.send_due_campaigns.call_local()  # too soon: the start is not taken as stalled yet
    assert _calls(platform, "/v2/bot/message/narrowcast") == []
    clock.advance(minutes=3)
    tasks.send_due_campaigns.call_local()

    [row] = _rows(session, campaign_id)
    uploads = [c for c in _calls(platform, "/v2/bot/audienceGroup/upload") if c["method"] == "POST"]
    [sent] = _calls(platform, "/v2/bot/message/narrowcast")
    assert len(uploads) == 1 and sent["retry_key"] == row.retry_key and sent["status"] == 202
    assert row.phase == "succeeded" and row.success_count == 60
    assert all(_texts(platform, user) == [A_TEXT] for user in members.values())


def test_a_narrowcast_line_accepted_before_the_worker_died_is_not_sent_again(
    runtime, platform, session, clock, monkeypatch
):
    clock.set(NOON)
    members = _members(runtime, platform, 60)
    campaign_id = make_campaign(runtime.sessions, NOON, delivery="narrowcast")
    line = runtime.line
    narrowcast = line.narrowcast

    def sends_then_dies(*args, **kwargs):
        narrowcast(*args, **kwargs)
        raise SystemExit("worker killed before recording the request id")

    monkeypatch.setattr(line, "narrowcast", sends_then_dies)
    with pytest.raises(SystemExit):
        tasks.send_due_campaigns.call_local()
    monkeypatch.undo()
    clock.advance(minutes=3)
    tasks.send_due_campaigns.call_local()

    [row] = _rows(session, campaign_id)
    first, again = _calls(platform, "/v2/bot/message/narrowcast")
    assert (first["status"], again["status"]) == (202, 409)
    assert first["retry_key"] == again["retry_key"] == row.retry_key
    assert row.request_id is not None and row.phase == "succeeded"
    assert all(_texts(platform, user) == [A_TEXT] for user in members.values())


def test_the_start_refuses_a_narrowcast_whose_audience_fell_under_50_and_sends_nothing(
    runtime, client, platform, session, clock
):
    clock.set(NOON)
    members = _members(runtime, platform, 45)
    campaign_id = make_campaign(runtime.sessions, NOON, delivery="narrowcast")

    tasks.send_due_campaigns.call_local()
    tasks.send_due_campaigns.call_local()

    found = campaign(session, campaign_id)
    assert found.status == "refused"
    assert found.refused_reason == "LINE 的受眾至少要 50 人，這份名單目前只有 45 人，請改用一般發送"
    assert _rows(session, campaign_id) == []
    assert _calls(platform, "/v2/bot/audienceGroup") == [] and _calls(platform, "/v2/bot/message") == []
    assert all(_texts(platform, user) == [] for user in members.values())
    people = crew(runtime.sessions)
    sign_in(client, people["marketer"].code)
    page = client.get(f"/staff/console/campaigns/{campaign_id}").get_data(as_text=True)
    assert 'data-testid="refused"' in page and "只有 45 人" in page and "未發送" in page


def test_the_start_refuses_a_narrowcast_whose_b_variant_is_under_50(runtime, platform, session, clock):
    clock.set(NOON)
    _members(runtime, platform, 100)
    campaign_id = make_campaign(
        runtime.sessions,
        NOON,
        variants=[{"kind": "text", "text": A_TEXT}, {"kind": "text", "text": B_TEXT}],
        b_percent=30,
        delivery="narrowcast",
    )

    tasks.send_due_campaigns.call_local()

    found = campaign(session, campaign_id)
    assert found.status == "refused" and found.refused_reason is not None
    assert "B 版目前只有 30 人" in found.refused_reason
    assert _calls(platform, "/v2/bot/message") == []


def test_a_narrowcast_line_fails_is_shown_failed_never_delivered(runtime, client, platform, session, clock):
    clock.set(NOON)
    # 60 members, but only 40 of their LINE users are known to LINE: the audience counts 40, under 50.
    members = _members(runtime, platform, 60, on_platform=40)
    campaign_id = make_campaign(runtime.sessions, NOON, delivery="narrowcast")

    tasks.send_due_campaigns.call_local()

    [row] = _rows(session, campaign_id)
    assert (row.phase, row.error_code, row.success_count) == ("failed", 4, 0)
    assert all(_texts(platform, user) == [] for user in members.values())
    people = crew(runtime.sessions)
    sign_in(client, people["marketer"].code)
    page = client.get(f"/staff/console/campaigns/{campaign_id}").get_data(as_text=True)
    assert "發送失敗" in page and 'data-testid="narrowcast-failed"' in page and "已送出" not in page
    assert "錯誤代碼 4" in page


def test_progress_is_polled_until_line_reports_it_finished(runtime, platform, session, clock):
    clock.set(NOON)
    _members(runtime, platform, 50)
    campaign_id = make_campaign(runtime.sessions, NOON, delivery="narrowcast")
    platform_send = platform.send

    def still_sending(*args, **kwargs):
        answer = platform_send(*args, **kwargs)
        with platform.lock:
            for progress in platform.narrowcasts.values():
                progress["phase"] = "sending"
        return answer

    platform.send = still_sending
    tasks.send_due_campaigns.call_local()
    [row] = _rows(session, campaign_id)
    assert row.phase == "sending"

    with platform.lock:
        platform.narrowcasts[row.request_id]["phase"] = "succeeded"
    tasks.send_due_campaigns.call_local()

    [row] = _rows(session, campaign_id)
    assert row.phase == "succeeded" and row.success_count == 50
    assert campaign_narrowcast.unfinished(session) == []
    assert clock.now() - timedelta(minutes=1) < row.checked_at


def test_a_large_audience_is_uploaded_in_parts_of_at_most_the_upload_limit(
    runtime, platform, session, clock, monkeypatch
):
    monkeypatch.setattr(campaign_narrowcast, "UPLOAD_MAX", 25)
    clock.set(NOON)
    members = _members(runtime, platform, 60)
    campaign_id = make_campaign(runtime.sessions, NOON, delivery="narrowcast")

    tasks.send_due_campaigns.call_local()

    uploads = _calls(platform, "/v2/bot/audienceGroup/upload")
    assert [(c["method"], len(c["body"]["audiences"])) for c in uploads] == [("POST", 25), ("PUT", 25), ("PUT", 10)]
    [row] = _rows(session, campaign_id)
    assert row.uploaded == 60 and row.phase == "succeeded" and row.success_count == 60
    assert all(_texts(platform, user) == [A_TEXT] for user in members.values())
