"""The report pages: a campaign's report and the programme dashboard for marketers and admins only, their CSV
exports (byte order mark, formula-like text escaped), and bad input answered with a message, never a 500."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.db import transaction
from models import Campaign, CampaignRecipient, Member, Purchase, Store
from tests.admin_helpers import crew, sign_in
from tests.campaign_helpers import consenting_members, make_campaign

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def people(runtime, clock):
    clock.set(START + timedelta(days=3))
    return crew(runtime.sessions)


@pytest.fixture
def started(runtime, people):
    """A started campaign made by the marketer and approved by the admin: 3 members in A, 1 in the holdout; one A
    member bought NT$1,200 at a store whose name looks like a formula."""
    members = consenting_members(runtime.sessions, 4)
    campaign_id = make_campaign(runtime.sessions, START - timedelta(hours=1), name="雙11 回饋", holdout_percent=25)
    with transaction(runtime.sessions) as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(
                status="started",
                started_at=START,
                created_by_staff_id=people["marketer"].id,
                approved_by_staff_id=people["admin"].id,
                approved_at=START - timedelta(minutes=30),
            )
        )
        joined = START - timedelta(days=1)
        session.execute(update(Member).where(Member.id.in_([m for m, _ in members])).values(created_at=joined))
        for i, (member_id, _) in enumerate(members):
            cohort = "holdout" if i == 3 else "A"
            session.add(CampaignRecipient(campaign_id=campaign_id, member_id=member_id, cohort=cohort))
        store = Store(code="EVIL", name='=HYPERLINK("http://x")')
        session.add(store)
        session.flush()
        session.add(
            Purchase(
                store_id=store.id,
                channel="pos",
                transaction_id="T1",
                request_hash="0" * 64,
                member_id=members[0][0],
                amount=1200,
                response={},
                created_at=START + timedelta(days=1),
            )
        )
    return campaign_id


def _csv(answer) -> list[list[str]]:
    body = answer.get_data()
    assert body.startswith("\ufeff".encode()), body[:10]
    return list(csv.reader(io.StringIO(body.decode("utf-8").removeprefix("\ufeff"))))


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_marketers_and_admins_read_the_report_and_the_dashboard(client, people, started, role):
    sign_in(client, people[role].code)

    report = client.get(f"/staff/console/campaigns/{started}/report")
    dashboard = client.get("/staff/console/dashboard")

    assert report.status_code == dashboard.status_code == 200
    page = report.get_data(as_text=True)
    assert "雙11 回饋" in page and "NT$ 1,200" in page
    assert "行銷小組" in page and "系統管理員" in page  # who created it and who approved it
    assert "保留組只有 1 人" in page
    assert 'href="/staff/console/dashboard"' in client.get("/staff/").get_data(as_text=True)
    assert f'href="/staff/console/campaigns/{started}/report"' in client.get(
        f"/staff/console/campaigns/{started}"
    ).get_data(as_text=True)
    assert "vendor/chartjs/chart.umd.min.js" in dashboard.get_data(as_text=True)


@pytest.mark.parametrize("role", ["clerk", "manager"])
def test_clerks_and_managers_are_refused(client, people, started, role):
    sign_in(client, people[role].code)

    for path in (
        f"/staff/console/campaigns/{started}/report",
        f"/staff/console/campaigns/{started}/report.csv?table=cohorts",
        "/staff/console/dashboard",
        "/staff/console/dashboard.csv?table=weeks",
    ):
        assert client.get(path).status_code == 403, path
    assert "/staff/console/dashboard" not in client.get("/staff/").get_data(as_text=True)


def test_signed_out_goes_to_sign_in(client, started):
    answer = client.get(f"/staff/console/campaigns/{started}/report")
    assert answer.status_code == 302 and "/staff/login" in answer.headers["Location"]


@pytest.mark.parametrize("window", ["abc", "0", "9999", "-1", "１４", "²", "14.5"])
def test_a_wrong_window_is_refused_with_a_message(client, people, started, window):
    sign_in(client, people["marketer"].code)

    page = client.get(f"/staff/console/campaigns/{started}/report?window={window}")
    export = client.get(f"/staff/console/campaigns/{started}/report.csv?table=cohorts&window={window}")

    assert page.status_code == export.status_code == 400
    assert "觀察天數請填 1 到 90 的整數" in page.get_data(as_text=True)
    assert "觀察天數請填 1 到 90 的整數" in export.get_data(as_text=True)


@pytest.mark.parametrize("campaign_id", ["999", "99999999999", "0"])
def test_a_missing_campaign_is_404(client, people, campaign_id):
    sign_in(client, people["marketer"].code)

    for path in (
        f"/staff/console/campaigns/{campaign_id}/report",
        f"/staff/console/campaigns/{campaign_id}/report.csv",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "找不到這個推播活動" in answer.get_data(as_text=True)


def test_an_unknown_table_is_404(client, people, started):
    sign_in(client, people["marketer"].code)
    assert client.get(f"/staff/console/campaigns/{started}/report.csv?table=nope").status_code == 404
    assert client.get("/staff/console/dashboard.csv?table=nope").status_code == 404
    assert client.get("/staff/console/dashboard.csv").status_code == 404


def test_a_campaign_not_started_says_so(runtime, client, people):
    campaign_id = make_campaign(runtime.sessions, START + timedelta(days=10))
    sign_in(client, people["marketer"].code)

    page = client.get(f"/staff/console/campaigns/{campaign_id}/report")

    assert page.status_code == 200
    assert "尚未開始發送" in page.get_data(as_text=True)
    assert client.get(f"/staff/console/campaigns/{campaign_id}/report.csv?table=cohorts").status_code == 404


def test_a_cancelled_campaign_names_who_cancelled_it(runtime, client, people):
    campaign_id = make_campaign(runtime.sessions, START + timedelta(days=10), name="取消的活動")
    sign_in(client, people["marketer"].code)
    with transaction(runtime.sessions) as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(status="cancelled", cancelled_by_staff_id=people["admin"].id)
        )

    page = client.get(f"/staff/console/campaigns/{campaign_id}/report").get_data(as_text=True)

    assert "取消者" in page and "系統管理員" in page
    assert "這個推播活動已取消，沒有成效資料。" in page


def test_the_window_changes_what_is_counted(client, people, started):
    sign_in(client, people["marketer"].code)
    one_day = client.get(f"/staff/console/campaigns/{started}/report?window=1").get_data(as_text=True)
    assert "NT$ 0" in one_day  # the purchase came a day after the start, to the second
    assert "NT$ 1,200" in client.get(f"/staff/console/campaigns/{started}/report?window=2").get_data(as_text=True)


def test_the_campaign_csvs(client, people, started):
    sign_in(client, people["marketer"].code)

    answer = client.get(f"/staff/console/campaigns/{started}/report.csv?table=cohorts&window=14")
    cohorts = _csv(answer)
    stores = _csv(client.get(f"/staff/console/campaigns/{started}/report.csv?table=stores"))
    uplift = _csv(client.get(f"/staff/console/campaigns/{started}/report.csv?table=uplift"))
    channels = _csv(client.get(f"/staff/console/campaigns/{started}/report.csv?table=channels"))

    assert answer.mimetype == "text/csv"
    assert f'filename="campaign-{started}-cohorts-14d.csv"' in answer.headers["Content-Disposition"]
    assert cohorts[0][:4] == ["組別", "對象", "已送達", "失敗"]
    assert [row[0] for row in cohorts[1:]] == ["A 版", "B 版", "保留組", "超過每週上限", "發送組（A＋B）", "合計"]
    a = dict(zip(cohorts[0], cohorts[1], strict=True))
    assert (a["對象"], a["訂單數"], a["營收（NT$）"], a["購買人數"], a["轉換率"]) == ("3", "1", "1200", "1", "33.3%")
    assert stores[1][0] == '\'=HYPERLINK("http://x")'  # read as text, not run as a formula
    assert stores[1][1:3] == ["1", "1200"]
    assert uplift[-1] == ["保留組只有 1 人（至少需 30 人），人數太少，無法計算成效提升"]
    assert channels[1][0] == "門市"
    daily = _csv(client.get(f"/staff/console/campaigns/{started}/report.csv?table=daily"))
    # Three days after the start: days 1 to 4 have begun; the purchase fell on day 2.
    assert [row[:3] for row in daily[1:]] == [["1", "0", "0"], ["2", "1200", "0"], ["3", "0", "0"], ["4", "0", "0"]]
    assert daily[2][3:] == ["400.0", "0.0"]  # NT$1,200 over the 3 members sent it; nothing for the holdout's one


def test_the_dashboard_csvs_in_english(client, people, started):
    sign_in(client, people["marketer"].code)
    client.get("/staff/language/en?next=/staff/")

    weeks = _csv(client.get("/staff/console/dashboard.csv?table=weeks"))
    active = _csv(client.get("/staff/console/dashboard.csv?table=active"))

    assert len(weeks) == 1 + 12 + 1 + 1  # header, 12 weeks, the total, the note
    assert weeks[0][0] == "Week (from Monday)"
    assert weeks[12][1] == "4"  # this week ends with the 4 members
    assert active[3][:2] == ["Members who bought in the last 30 days", "1"]  # the purchase of 2026-11-03
    report = client.get(f"/staff/console/campaigns/{started}/report").get_data(as_text=True)
    assert "Results by cohort" in report and "Revenue per member (NT$)" in report and "各組成效" not in report
