"""What an attacker or a careless marketer sent to the console's segment, campaign and report pages: ids beyond the
id column, JSON nested too deep, lone surrogates and control characters, markup and formulas in names, empty
groups and an empty database. Each is answered with a page (or JSON) in zh-TW, never a 500, and changes nothing;
no page shows a member's phone number."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.db import transaction
from bot.services.marketing.reports import CohortRow, Sales, uplift
from models import Campaign, CampaignRecipient, CouponTemplate, Member, Purchase, Segment, Staff, Store
from tests.admin_helpers import crew, send, sign_in
from tests.binding_helpers import field
from tests.campaign_helpers import consenting_members, make_campaign, make_segment

NOON = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # 14:00 in Taipei
GOLD = {"all": [{"type": "tier", "tiers": ["gold"]}]}
XSS = "<script>alert(1)</script>"


@pytest.fixture
def people(runtime: Any, clock: Any) -> dict[str, Any]:
    clock.set(NOON)
    return crew(runtime.sessions)


def _csrf(client: Any) -> str:
    return field(client.get("/staff/password").get_data(as_text=True), "csrf_token")


def _segments(session: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Segment)))


@pytest.mark.parametrize("big", [2**31, 2**63, 10**30])
@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/staff/console/segments/{id}", "找不到這個分群"),
        ("POST", "/staff/console/segments/{id}", "找不到這個分群"),
        ("POST", "/staff/console/segments/{id}/delete", "找不到這個分群"),
        ("GET", "/staff/console/coupons/{id}", "找不到這張優惠券"),
        ("POST", "/staff/console/coupons/{id}", "找不到這張優惠券"),
        ("POST", "/staff/console/coupons/{id}/issue", "找不到這張優惠券"),
        ("GET", "/staff/console/campaigns/{id}", "找不到這個推播活動"),
        ("POST", "/staff/console/campaigns/{id}/cancel", "找不到這個推播活動"),
        ("POST", "/staff/console/campaigns/{id}/approve", "找不到這個推播活動"),
        ("GET", "/staff/console/campaigns/{id}/report", "找不到這個推播活動"),
        ("GET", "/staff/console/campaigns/{id}/report.csv?table=cohorts", "找不到這個推播活動"),
        ("GET", "/staff/console/products/{id}", "找不到這個商品"),
        ("POST", "/staff/console/tags/{id}/evaluate", "找不到這個標籤"),
        ("POST", "/staff/console/tags/{id}/segment", "找不到這個標籤"),
        ("POST", "/staff/console/tags/{id}/rename", "找不到這個標籤"),
        ("POST", "/staff/console/tags/{id}/delete", "找不到這個標籤"),
        ("GET", "/staff/console/settings/stamp-cards/{id}", "找不到這張集點卡"),
        ("GET", "/staff/console/settings/tasks/games/{id}", "找不到這個遊戲"),
    ],
)
def test_an_id_beyond_the_id_column_is_not_found(client, people, method, path, message, big):
    sign_in(client, people["marketer"].code)
    url = path.format(id=big)

    answer = client.get(url) if method == "GET" else send(client, url, {"name": "x", "definition": "{}"})

    assert answer.status_code == 404, url
    assert message in answer.get_data(as_text=True)


def _nested(depth: int) -> str:
    return '{"all":[' * depth + "]}" * depth


@pytest.mark.parametrize("raw", [_nested(1000), "[" * 30000 + "]" * 30000, _nested(900)])
def test_a_definition_nested_too_deep_is_refused_in_the_preview_and_on_save(client, people, session, raw):
    sign_in(client, people["marketer"].code)

    preview = client.post(
        "/staff/console/segments/preview",
        data='{"definition":' + raw + "}",
        content_type="application/json",
        headers={"X-CSRFToken": _csrf(client)},
    )
    saved = send(client, "/staff/console/segments/new", {"name": "太深的分群", "definition": raw})

    assert preview.status_code == 400 and preview.get_json()["error"] in ("分群條件格式不正確", "群組最多只能有 5 層")
    assert saved.status_code == 400
    assert "分群條件格式不正確" in saved.get_data(as_text=True) or "群組最多只能有 5 層" in saved.get_data(as_text=True)
    assert _segments(session) == 0


@pytest.mark.parametrize(
    "condition",
    [
        {"type": "bought_sku", "skus": ["\ud800"], "days": 30},
        {"type": "bought_sku", "skus": ["A\udfffB"], "days": 30},
        {"type": "bought_category", "categories": ["\ud800"], "days": 30},
    ],
)
def test_a_lone_surrogate_in_a_definition_is_refused_not_a_500(client, people, session, condition):
    sign_in(client, people["marketer"].code)
    body = json.dumps({"definition": {"all": [condition]}})  # the surrogate travels as a \ud800 escape

    preview = client.post(
        "/staff/console/segments/preview",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": _csrf(client)},
    )
    saved = send(
        client, "/staff/console/segments/new", {"name": "怪字分群", "definition": json.dumps({"all": [condition]})}
    )

    assert preview.status_code == 400 and "個字" in preview.get_json()["error"]
    assert saved.status_code == 400
    assert _segments(session) == 0


@pytest.mark.parametrize("name", ["金卡\x00會員", "\x01金卡", "金卡\x7f"])
def test_a_segment_name_with_a_control_character_is_refused(client, people, session, name):
    sign_in(client, people["marketer"].code)

    answer = send(client, "/staff/console/segments/new", {"name": name, "definition": json.dumps(GOLD)})

    assert answer.status_code == 400
    assert "分群名稱不能包含控制字元" in answer.get_data(as_text=True)
    assert _segments(session) == 0


def _console_urls(campaign_id: int, segment_id: int, template_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/staff/console/segments"),
        ("GET", "/staff/console/segments/new"),
        ("POST", "/staff/console/segments/new"),
        ("GET", f"/staff/console/segments/{segment_id}"),
        ("POST", f"/staff/console/segments/{segment_id}"),
        ("POST", f"/staff/console/segments/{segment_id}/delete"),
        ("POST", "/staff/console/segments/preview"),
        ("GET", f"/staff/console/coupons/{template_id}"),
        ("POST", f"/staff/console/coupons/{template_id}/issue"),
        ("GET", "/staff/console/campaigns/"),
        ("GET", "/staff/console/campaigns/new"),
        ("POST", "/staff/console/campaigns/new"),
        ("GET", f"/staff/console/campaigns/{campaign_id}"),
        ("POST", f"/staff/console/campaigns/{campaign_id}/cancel"),
        ("POST", f"/staff/console/campaigns/{campaign_id}/approve"),
        ("GET", f"/staff/console/campaigns/{campaign_id}/report"),
        ("GET", f"/staff/console/campaigns/{campaign_id}/report.csv?table=cohorts"),
        ("GET", "/staff/console/dashboard"),
        ("GET", "/staff/console/dashboard.csv?table=weeks"),
    ]


def _state(session: Any) -> tuple[Any, ...]:
    session.expire_all()
    return (
        session.execute(select(Segment.id, Segment.name)).all(),
        session.execute(select(Campaign.id, Campaign.status, Campaign.approved_at)).all(),
        session.scalar(select(func.sum(CouponTemplate.issued_count))),
    )


@pytest.fixture
def objects(runtime: Any, people: dict[str, Any]) -> dict[str, int]:
    consenting_members(runtime.sessions, 2)
    segment_id = make_segment(runtime.sessions)
    campaign_id = make_campaign(runtime.sessions, NOON, segment_id=segment_id)
    with transaction(runtime.sessions) as session:
        session.execute(update(Campaign).values(status="pending_approval"))
        template = CouponTemplate(code="C50", name="折 50 元", kind="amount_off", value=50)
        session.add(template)
        session.flush()
        template_id = template.id
    return {"campaign": campaign_id, "segment": segment_id, "template": template_id}


@pytest.mark.parametrize("role", ["clerk", "manager", None])
def test_only_marketers_and_admins_reach_the_console_and_nothing_changes(client, session, people, objects, role):
    if role is not None:
        sign_in(client, people[role].code)
    before = _state(session)

    for method, url in _console_urls(objects["campaign"], objects["segment"], objects["template"]):
        if method == "GET":
            answer = client.get(url)
        else:
            token = _csrf(client) if role is not None else "x"
            answer = client.post(url, data={"csrf_token": token, "name": "新的", "definition": json.dumps(GOLD)})
        if role is None:
            assert answer.status_code in (302, 400), url  # to sign in (a POST without a session fails its CSRF)
        else:
            assert answer.status_code == 403, url
            assert "您的角色無法使用這個頁面" in answer.get_data(as_text=True), url

    assert _state(session) == before


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_post_without_its_csrf_token_changes_nothing(client, session, people, objects, token):
    sign_in(client, people["admin"].code)  # the admin may approve the marketer-less pending campaign
    before = _state(session)
    data = {"name": "新的", "definition": json.dumps(GOLD), "member_number": "C0000001", "to": "member"}
    if token is not None:
        data["csrf_token"] = token

    for method, url in _console_urls(objects["campaign"], objects["segment"], objects["template"]):
        if method == "POST":
            answer = client.post(url, data=data)
            assert answer.status_code == 400, url
            assert "頁面已逾時，請重新整理後再送出" in answer.get_data(as_text=True), url

    assert _state(session) == before


def _started_with_markup(runtime: Any, people: dict[str, Any], holdout: int = 1, sent: int = 3) -> int:
    """A started campaign whose name, segment, coupon and message hold markup; its members' names and a store's
    name hold markup and formulas, and every member has a phone number."""
    members = consenting_members(runtime.sessions, holdout + sent, names=[f"{XSS}{i}" for i in range(holdout + sent)])
    segment_id = make_segment(runtime.sessions, name=f"{XSS}分群")
    with transaction(runtime.sessions) as session:
        template = CouponTemplate(code="XSS", name=f"{XSS}券", kind="amount_off", value=50)
        session.add(template)
        session.flush()
        template_id = template.id
        for i, (member_id, _) in enumerate(members):
            session.get(Member, member_id).phone_e164 = f"+88691234{i:04d}"  # type: ignore[union-attr]
    campaign_id = make_campaign(
        runtime.sessions,
        NOON - timedelta(hours=1),
        name=f"{XSS}活動",
        segment_id=segment_id,
        coupon_template_id=template_id,
        variants=[{"kind": "text", "text": f"{XSS}{{name}} 您好"}],
    )
    with transaction(runtime.sessions) as session:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(status="started", started_at=NOON - timedelta(hours=1), created_by_staff_id=people["marketer"].id)
        )
        store = Store(code="EVIL", name=f"{XSS}=HYPERLINK(1)")
        session.add(store)
        session.flush()
        for i, (member_id, _) in enumerate(members):
            session.add(
                CampaignRecipient(
                    campaign_id=campaign_id, member_id=member_id, cohort="holdout" if i < holdout else "A"
                )
            )
        session.add(
            Purchase(
                store_id=store.id,
                channel="pos",
                transaction_id="T1",
                request_hash="0" * 64,
                member_id=members[-1][0],
                amount=500,
                response={},
                created_at=NOON - timedelta(minutes=30),
            )
        )
    return campaign_id


def test_markup_in_names_and_messages_is_shown_escaped_and_no_page_shows_a_phone(runtime, client, people):
    campaign_id = _started_with_markup(runtime, people)
    sign_in(client, people["marketer"].code)
    segment_id = make_segment(runtime.sessions, name=f"{XSS}分群")

    pages = {
        url: client.get(url)
        for url in (
            f"/staff/console/campaigns/{campaign_id}/report",
            f"/staff/console/campaigns/{campaign_id}",
            "/staff/console/campaigns/",
            "/staff/console/campaigns/new",
            "/staff/console/segments",
            f"/staff/console/segments/{segment_id}",
            "/staff/console/dashboard",
        )
    }
    preview = client.post(
        "/staff/console/segments/preview",
        json={"definition": {"all": [{"type": "line_bound", "value": True}]}},
        headers={"X-CSRFToken": _csrf(client)},
    )
    compose = send(
        client,
        "/staff/console/campaigns/new",
        {"name": XSS, "segment_id": str(segment_id), "kind": "text", "text": XSS + "{name}", "action": "preview"},
    )

    for url, answer in [*pages.items(), ("preview", preview), ("compose", compose)]:
        text = answer.get_data(as_text=True)
        assert answer.status_code == 200, (url, text[:300])
        assert "<script>alert" not in text, url
        assert "912340" not in text and "+8869" not in text, url
    assert "&lt;script&gt;alert(1)&lt;/script&gt;活動" in pages[
        f"/staff/console/campaigns/{campaign_id}/report"
    ].get_data(as_text=True)


@pytest.mark.parametrize("start", ["=", "@", "\t=", "\r\n="])
def test_names_that_look_like_formulas_are_quoted_in_every_csv(runtime, client, people, start):
    campaign_id = _started_with_markup(runtime, people)
    with transaction(runtime.sessions) as session:
        session.execute(update(Store).where(Store.code == "EVIL").values(name=f'{start}HYPERLINK("http://x")'))
        session.execute(update(Store).where(Store.code == "TPE01").values(name=f"{start}cmd|'/c calc'!A1"))
        session.execute(update(Staff).where(Staff.code == "C001").values(name=f"{start}SUM(1+1)"))
        session.execute(update(Member).values(home_store_id=people["tpe"].id, referred_by_staff_id=people["clerk"].id))
    sign_in(client, people["marketer"].code)

    cells = []
    for url in (
        f"/staff/console/campaigns/{campaign_id}/report.csv?table=stores",
        "/staff/console/dashboard.csv?table=stores",
        "/staff/console/dashboard.csv?table=clerks",
    ):
        answer = client.get(url)
        assert answer.status_code == 200, url
        rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).removeprefix("\ufeff"), newline="")))
        cells += [row[0] for row in rows[1:]]

    assert len(cells) == 3
    assert all(cell.startswith("'") for cell in cells), cells


def test_the_dashboard_and_a_report_on_an_empty_database(runtime, client, people):
    campaign_id = make_campaign(runtime.sessions, NOON - timedelta(hours=1))
    with transaction(runtime.sessions) as session:
        session.execute(update(Campaign).values(status="started", started_at=NOON - timedelta(hours=1)))
    sign_in(client, people["marketer"].code)

    urls = [
        "/staff/console/dashboard",
        f"/staff/console/campaigns/{campaign_id}/report",
        *[f"/staff/console/dashboard.csv?table={t}" for t in ("weeks", "active", "stores", "clerks")],
        *[
            f"/staff/console/campaigns/{campaign_id}/report.csv?table={t}"
            for t in ("cohorts", "uplift", "daily", "stores", "channels")
        ],
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    page = client.get(f"/staff/console/campaigns/{campaign_id}/report").get_data(as_text=True)
    assert "無保留組，無法計算成效提升" in page


def test_the_uplift_of_groups_that_bought_nothing_has_no_relative_figure():
    sent, holdout = CohortRow("sent", recipients=40), CohortRow("holdout", recipients=30)

    result = uplift(sent, holdout)

    assert result.reason is None and result.revenue_per_member is not None and result.conversion is not None
    assert (result.revenue_per_member.difference, result.revenue_per_member.low) == (0, 0)
    assert result.revenue_per_member.relative is None and result.conversion.relative is None
    assert not result.revenue_per_member.significant
    one_buyer = CohortRow("holdout", recipients=30, sales=Sales(orders=1, revenue=300, buyers=1, revenue_squares=90000))
    assert uplift(sent, one_buyer).revenue_per_member.relative == -1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "member", "member_number": "C\x000000001"},
        {"to": "member", "member_number": "x" * 100_000},
        {"to": "member", "member_number": "C0000001", "token": "t\x00"},
        {"to": "member", "member_number": "C0000001", "token": "t" * 100_000},
        {"to": "segment", "segment_id": "²"},
        {"to": "segment", "segment_id": str(2**63)},
    ],
)
def test_odd_hand_issue_forms_issue_nothing(client, session, people, objects, fields):
    sign_in(client, people["marketer"].code)
    before = _state(session)

    answer = send(client, f"/staff/console/coupons/{objects['template']}/issue", {"token": "t1", **fields})

    assert answer.status_code == 400
    assert _state(session) == before
