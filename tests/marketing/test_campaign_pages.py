"""The campaign pages: marketers and admins only; compose with a preview, send now or schedule, quiet hours,
cancel, progress on the list, and bad input refused with a zh-TW message that saves nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot import tasks
from models import Campaign
from tests.admin_helpers import crew, send, sign_in
from tests.binding_helpers import friend
from tests.campaign_helpers import TAIPEI, consenting_members, make_segment
from tests.factories import make_staff

NOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Taipei


def _form(segment: int, **fields: str) -> dict[str, str]:
    return {
        "name": "週年慶",
        "segment_id": str(segment),
        "kind": "text",
        "text": "{name} 您好，週年慶全面 85 折",
        "holdout_percent": "0",
        "b_percent": "50",
        "when": "now",
        "action": "save",
        **fields,
    }


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_marketers_and_admins_open_the_campaign_pages_and_see_them_in_the_menu(runtime, client, role):
    people = crew(runtime.sessions)
    sign_in(client, people[role].code)

    listing = client.get("/staff/console/campaigns/")
    compose = client.get("/staff/console/campaigns/new")

    assert listing.status_code == compose.status_code == 200
    assert "推播活動" in listing.get_data(as_text=True)
    assert 'href="/staff/console/campaigns/"' in client.get("/staff/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["clerk", "manager"])
def test_clerks_and_managers_are_refused(runtime, client, role):
    people = crew(runtime.sessions)
    sign_in(client, people[role].code)

    assert client.get("/staff/console/campaigns/").status_code == 403
    assert client.get("/staff/console/campaigns/new").status_code == 403
    assert "/staff/console/campaigns/" not in client.get("/staff/").get_data(as_text=True)


def test_signed_out_goes_to_sign_in(client):
    answer = client.get("/staff/console/campaigns/")
    assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]


def test_the_preview_shows_the_rendered_message_escaped_and_the_reach_and_saves_nothing(
    runtime, client, session, clock
):
    clock.set(NOON)
    people = crew(runtime.sessions)
    consenting_members(runtime.sessions, 3)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    page = send(
        client,
        "/staff/console/campaigns/new",
        _form(segment_id, action="preview", text="<script>x</script>{name}，您有 {points} 點"),
    ).get_data(as_text=True)

    assert "現在符合的對象：3 人" in page
    assert "&lt;script&gt;x&lt;/script&gt;王小明，您有 1,234 點" in page
    assert "<script>x</script>" not in page
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_send_now_schedules_it_for_the_minute_job_which_sends_it_and_the_list_shows_the_progress(
    runtime, client, session, clock
):
    clock.set(NOON)
    people = crew(runtime.sessions)
    consenting_members(runtime.sessions, 3)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    answer = send(client, "/staff/console/campaigns/new", _form(segment_id))
    assert answer.status_code == 302
    detail = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "推播活動「週年慶」將在一分鐘內開始發送" in detail and "排程中" in detail
    campaign = session.scalars(select(Campaign)).one()
    assert (campaign.status, campaign.created_by_staff_id) == ("scheduled", people["marketer"].id)

    tasks.send_due_campaigns.call_local()

    listing = client.get("/staff/console/campaigns/").get_data(as_text=True)
    assert "已送出" in listing or "發送中" in listing
    detail = client.get(f"/staff/console/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'data-testid="progress"' in detail


def test_a_send_in_the_quiet_hours_waits_until_nine_and_a_scheduled_one_can_be_cancelled_once(
    runtime, client, session, clock
):
    clock.set(datetime(2026, 11, 30, 23, 0, tzinfo=TAIPEI))
    people = crew(runtime.sessions)
    consenting_members(runtime.sessions, 2)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    answer = send(client, "/staff/console/campaigns/new", _form(segment_id))
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "現在是勿擾時段（22:00–09:00），推播活動「週年慶」將於 2026-12-01 09:00 開始發送" in page
    tasks.send_due_campaigns.call_local()
    campaign = session.scalars(select(Campaign)).one()
    assert campaign.status == "scheduled"

    cancelled = send(client, f"/staff/console/campaigns/{campaign.id}/cancel")
    again = send(client, f"/staff/console/campaigns/{campaign.id}/cancel")
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TAIPEI))
    tasks.send_due_campaigns.call_local()

    assert cancelled.status_code == 302 and again.status_code == 409
    campaign = session.scalars(select(Campaign)).one()
    assert (campaign.status, campaign.cancelled_by_staff_id) == ("cancelled", people["marketer"].id)


def test_a_later_time_is_read_as_taipei_time(runtime, client, session, clock):
    clock.set(NOON)
    people = crew(runtime.sessions)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    send(client, "/staff/console/campaigns/new", _form(segment_id, when="later", send_at="2026-12-02T10:30"))

    campaign = session.scalars(select(Campaign)).one()
    assert campaign.send_at == datetime(2026, 12, 2, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": " "}, "請輸入活動名稱"),
        ({"text": ""}, "請輸入訊息內容"),
        ({"segment_id": "x"}, "請選擇名單"),
        ({"holdout_percent": "²"}, "比例請填 0 到 100 的整數"),
        ({"holdout_percent": "80"}, "保留組比例須介於 0 到 50%"),
        ({"when": "later", "send_at": "tomorrow"}, "請輸入正確的排程時間（例如 2026-12-01 10:00）"),
        ({"when": "later", "send_at": "2026-11-01T10:00"}, "排程時間不能早於現在"),
        (
            {"kind": "card", "title": "新品", "body": "看看", "button_label": "看", "button_url": "javascript:x"},
            "按鈕連結須為 https:// 開頭的網址",
        ),
        ({"coupon_template_id": "999"}, "找不到這張優惠券"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_saves_nothing(runtime, client, session, clock, fields, message):
    clock.set(NOON)
    people = crew(runtime.sessions)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    answer = send(client, "/staff/console/campaigns/new", _form(segment_id, **fields))

    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_an_unknown_campaign_is_a_404(runtime, client):
    people = crew(runtime.sessions)
    sign_in(client, people["marketer"].code)
    assert client.get("/staff/console/campaigns/999").status_code == 404
    assert send(client, "/staff/console/campaigns/999/cancel").status_code == 404


def test_a_campaign_over_the_approval_size_waits_for_a_second_marketer(runtime, client, app, session, clock):
    clock.set(NOON)
    runtime.settings = dataclasses.replace(runtime.settings, campaign_approval_above=2)
    people = crew(runtime.sessions)
    second = make_staff(runtime.sessions, code="K002", name="第二位行銷", role="marketer")
    consenting_members(runtime.sessions, 3)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    answer = send(client, "/staff/console/campaigns/new", _form(segment_id))
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    campaign = session.scalars(select(Campaign)).one()
    assert "推播活動「週年慶」的對象有 3 人，需由另一位行銷人員核准後才會發送" in page
    assert campaign.status == "pending_approval" and 'id="approve-campaign"' not in page
    tasks.send_due_campaigns.call_local()
    assert session.scalars(select(Campaign)).one().status == "pending_approval"
    assert send(client, f"/staff/console/campaigns/{campaign.id}/approve").status_code == 403

    other = app.test_client()
    sign_in(other, second.code)
    assert 'id="approve-campaign"' in other.get(f"/staff/console/campaigns/{campaign.id}").get_data(as_text=True)
    assert send(other, f"/staff/console/campaigns/{campaign.id}/approve").status_code == 302
    assert send(other, f"/staff/console/campaigns/{campaign.id}/approve").status_code == 409
    tasks.send_due_campaigns.call_local()

    campaign = session.scalars(select(Campaign)).one()
    assert (campaign.status, campaign.approved_by_staff_id) == ("started", second.id)
    assert "第二位行銷" in client.get(f"/staff/console/campaigns/{campaign.id}").get_data(as_text=True)


def test_a_test_push_sends_the_preview_to_one_line_user_on_the_local_platform(
    runtime, client, platform, session, clock
):
    people = crew(runtime.sessions)
    user = friend(platform, "行銷測試機")
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    answer = send(client, "/staff/console/campaigns/new", _form(segment_id, action="test_push", test_user=user))
    unknown = send(
        client, "/staff/console/campaigns/new", _form(segment_id, action="test_push", test_user="U" + "0" * 32)
    )

    assert answer.status_code == 200 and "已將預覽推送給 行銷測試機（1 則訊息）" in answer.get_data(as_text=True)
    assert platform.bot_messages(user)[-1]["text"] == "王小明 您好，週年慶全面 85 折"
    assert unknown.status_code == 400 and "找不到這位 LINE 使用者" in unknown.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "週年\x00慶"}, "內容不能包含控制字元"),
        ({"text": "85 折\x07"}, "內容不能包含控制字元"),
        (
            {
                "kind": "card",
                "title": "新品",
                "body": "看看",
                "button_label": "看",
                "button_url": "https://a.example\x00",
            },
            "內容不能包含控制字元",
        ),
        ({"coupon_template_id": "abc"}, "找不到這張優惠券"),
        ({"action": "test_push", "test_user": "U\x00"}, "找不到這位 LINE 使用者"),
    ],
)
def test_control_characters_and_malformed_ids_are_refused_not_a_500(runtime, client, session, clock, fields, message):
    clock.set(NOON)
    people = crew(runtime.sessions)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)

    answer = send(client, "/staff/console/campaigns/new", _form(segment_id, **fields))

    assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_huge_campaign_id_is_a_404(runtime, client):
    people = crew(runtime.sessions)
    sign_in(client, people["marketer"].code)
    assert client.get("/staff/console/campaigns/99999999999999999999").status_code == 404


def test_a_campaign_not_started_15_minutes_after_its_time_is_flagged_but_not_in_the_quiet_hours(
    runtime, client, session, clock
):
    clock.set(datetime(2026, 11, 30, 21, 50, tzinfo=TAIPEI))
    people = crew(runtime.sessions)
    segment_id = make_segment(runtime.sessions)
    sign_in(client, people["marketer"].code)
    send(client, "/staff/console/campaigns/new", _form(segment_id, when="later", send_at="2026-11-30T21:55"))
    campaign_id = session.scalars(select(Campaign.id)).one()
    page = f"/staff/console/campaigns/{campaign_id}"

    clock.set(datetime(2026, 11, 30, 21, 59, tzinfo=TAIPEI))
    on_time = client.get(page).get_data(as_text=True)
    clock.set(datetime(2026, 11, 30, 23, 30, tzinfo=TAIPEI))  # the job did not run; the quiet hours began
    quiet = client.get(page).get_data(as_text=True)
    clock.set(datetime(2026, 12, 1, 9, 16, tzinfo=TAIPEI))
    late = client.get(page).get_data(as_text=True)

    assert 'data-testid="overdue"' not in on_time and 'data-testid="overdue"' not in quiet
    assert 'data-testid="overdue"' in late and "逾時未發送" in client.get("/staff/console/campaigns/").get_data(
        as_text=True
    )


def test_a_segment_a_campaign_was_made_for_cannot_be_deleted(runtime, client, session, clock):
    from models import Segment
    from tests.campaign_helpers import make_campaign

    clock.set(NOON)
    people = crew(runtime.sessions)
    segment_id = make_segment(runtime.sessions, name="常客")
    unused = make_segment(runtime.sessions, name="沒用到的分群")
    make_campaign(runtime.sessions, NOON, segment_id=segment_id)
    sign_in(client, people["marketer"].code)

    refused = send(client, f"/staff/console/segments/{segment_id}/delete")
    deleted = send(client, f"/staff/console/segments/{unused}/delete")

    assert refused.status_code == 409 and "已用於推播活動" in refused.get_data(as_text=True)
    assert session.get(Segment, segment_id) is not None
    assert deleted.status_code == 302 and session.get(Segment, unused) is None
