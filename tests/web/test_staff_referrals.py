"""Staff referral: a clerk's code brings a shopper to the chat, the shopper's join is credited to that clerk and
store (first touch kept), their purchases count for the clerk for REFERRAL_CREDIT_DAYS, and managers read the report
and export it as CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.staff.api_keys import create_api_key
from bot.services.staff.referrals import normalise_code
from models import Member, ReferralAttribution, ReferralLead, ReferralTouch, Store
from tests.binding_helpers import field, friend, text_of
from tests.factories import STAFF_PASSWORD, make_member, make_staff, make_store
from tests.helpers import count, texts
from tests.web.test_join import GOOD, join, open_join_page


def sign_in(app: Any, code: str) -> Any:
    """A browser of its own, signed in as this staff member."""
    browser = app.test_client()
    page = browser.get("/staff/login").get_data(as_text=True)
    answer = browser.post(
        "/staff/login", data={"code": code, "password": STAFF_PASSWORD, "csrf_token": field(page, "csrf_token")}
    )
    assert answer.status_code == 302, text_of(answer)
    return browser


def element_text(page: str, name: str) -> str:
    """The text inside the element marked data-testid=`name`."""
    match = re.search(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', page)
    assert match, f"no {name} on the page"
    return html.unescape(match.group(1)).strip()


def href(page: str, name: str) -> str:
    match = re.search(rf'href="([^"]+)"[^>]*data-testid="{re.escape(name)}"', page) or re.search(
        rf'data-testid="{re.escape(name)}"[^>]*href="([^"]+)"', page
    )
    assert match, f"no {name} link on the page"
    return html.unescape(match.group(1))


def referral_link(app: Any, staff_code: str) -> str:
    """The link behind the clerk's QR code, read from their own page."""
    page = sign_in(app, staff_code).get("/staff/referrals/mine")
    assert page.status_code == 200, text_of(page)
    return href(text_of(page), "referral-link")


def typed_message(client: Any, link: str) -> str:
    """What the landing page's button types into the chat (the local LINE platform's chat in development)."""
    landing = client.get(urlsplit(link).path)
    assert landing.status_code == 200
    button = urlsplit(href(text_of(landing), "open-line"))
    assert button.path.rstrip("/") == "/dev/line"
    return parse_qs(button.query)["text"][0]


def report_row(browser: Any, staff_code: str, **query: str) -> dict[str, str]:
    page = browser.get("/staff/referrals/report", query_string=query)
    assert page.status_code == 200, text_of(page)
    body = text_of(page)
    match = re.search(rf'<tr data-testid="row-{staff_code}">(.*?)</tr>', body, re.S)
    assert match, f"no row for {staff_code}"
    return {name: value.replace(",", "") for name, value in re.findall(r'data-col="(\w+)">([^<]*)<', match.group(1))}


def online_key(runtime: Any) -> dict[str, str]:
    with transaction(runtime.sessions) as session:
        session.add(Store(code="WEB", name="網路商店", is_online=True))
        session.flush()
        _, key = create_api_key(session, store_code="WEB", name="shop", now=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


def buy_online(client: Any, key: dict[str, str], number: str, amount: int, transaction_id: str) -> None:
    body = {"transaction_id": transaction_id, "amount": amount, "member_number": number, "channel": "online"}
    answer = client.post("/api/v1/purchases", json=body, headers=key)
    assert answer.status_code == 201, answer.get_json()


@pytest.fixture
def team(runtime: Any) -> dict[str, Any]:
    """TPE01 with clerks C001 (王小美), C002 (陳大文) and manager M001; KHH01 with clerk K001."""
    store = make_store(runtime.sessions)
    other = make_store(runtime.sessions, code="KHH01", name="高雄巨蛋店")
    make_staff(runtime.sessions, code="C001", name="王小美", store=store)
    make_staff(runtime.sessions, code="C002", name="陳大文", store=store)
    make_staff(runtime.sessions, code="M001", name="張店長", role="manager", store=store)
    make_staff(runtime.sessions, code="K001", name="李小龍", store=other)
    return {"store": store, "other": other}


def join_through(app: Any, client: Any, settings: Any, user: str, **fields: str) -> None:
    done = join(app, client, open_join_page(client, settings, user), **{**GOOD, **fields})
    assert done.status_code in (200, 302), text_of(done)


def test_referral_link_follow_message_join_and_online_purchase_reach_the_clerks_report_row(
    app, client, platform, runtime, settings, session, team
):
    link = referral_link(app, "C001")
    assert "/r/" in link and "C001" not in link, "the code is not the staff number"
    message = typed_message(client, link)
    assert message.startswith("推薦碼 ")

    user = friend(platform)  # the follow: LINE tells the bot nothing about where the friend came from
    platform.send_text(user, message)  # the message the landing page typed in, as the shopper sends it

    replies = texts(platform.bot_messages(user))
    assert any("感謝您透過台北信義店的王小美加入" in reply for reply in replies)
    assert "/members/join?t=" in str(platform.bot_messages(user)[-1]), "a guest is offered to join"
    (touch,) = session.scalars(select(ReferralTouch)).all()
    assert touch.relation == "new_friend"

    join_through(app, client, settings, user)
    member = session.scalars(select(Member)).one()
    clerk_id = touch.staff_id
    assert member.referred_by_staff_id == clerk_id
    attribution = session.scalars(select(ReferralAttribution)).one()
    assert (attribution.kind, attribution.store_id) == ("join", team["store"].id)

    buy_online(client, online_key(runtime), member.member_number, 1280, "W-1")

    manager = sign_in(app, "M001")
    row = report_row(manager, "C001")
    assert row == {
        "touches": "1",
        "new_friends": "1",
        "joins": "1",
        "binds": "0",
        "purchases": "1",
        "revenue": "1280",
    }
    assert report_row(manager, "C002")["joins"] == "0"


def test_the_first_clerks_code_keeps_the_credit_when_a_second_clerks_arrives_later(
    app, client, platform, session, settings, team
):
    first = typed_message(client, referral_link(app, "C001"))
    second = typed_message(client, referral_link(app, "C002"))
    user = friend(platform)

    platform.send_text(user, first)
    platform.send_text(user, second)
    join_through(app, client, settings, user)

    touches = session.scalars(select(ReferralTouch).order_by(ReferralTouch.id)).all()
    assert len(touches) == 2, "the later touch is recorded too"
    lead = session.scalars(select(ReferralLead)).one()
    assert lead.touch_id == touches[0].id
    member = session.scalars(select(Member)).one()
    assert member.referred_by_staff_id == touches[0].staff_id != touches[1].staff_id
    manager = sign_in(app, "M001")
    assert (report_row(manager, "C001")["joins"], report_row(manager, "C002")["joins"]) == ("1", "0")
    assert report_row(manager, "C002")["touches"] == "1"


def test_a_member_who_already_joined_is_recorded_but_not_attributed(app, client, platform, runtime, session, team):
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)

    platform.send_text(user, typed_message(client, referral_link(app, "C001")))

    touch = session.scalars(select(ReferralTouch)).one()
    assert touch.relation == "member"
    assert count(session, ReferralLead) == 0
    assert session.get(Member, member.id).referred_by_staff_id is None
    assert any("您已經是會員了" in reply for reply in texts(platform.bot_messages(user)))


def test_a_friend_who_binds_an_existing_membership_counts_as_a_bind(app, client, platform, runtime, session, team):
    user = friend(platform)
    platform.send_text(user, typed_message(client, referral_link(app, "C001")))
    member = make_member(runtime.sessions, bound_to=user)  # bound through the binding service

    assert session.get(Member, member.id).referred_by_staff_id is not None
    assert session.scalars(select(ReferralAttribution.kind)).all() == ["bind"]
    assert report_row(sign_in(app, "M001"), "C001")["binds"] == "1"


def test_purchases_count_for_the_clerk_only_within_the_credit_days(
    app, client, platform, runtime, settings, session, team, clock
):
    assert settings.referral_credit_days == 180
    user = friend(platform)
    platform.send_text(user, typed_message(client, referral_link(app, "C001")))
    join_through(app, client, settings, user)
    member = session.scalars(select(Member)).one()
    key = online_key(runtime)
    start = clock.now()

    clock.set(start + timedelta(days=179))
    buy_online(client, key, member.member_number, 500, "W-inside")
    clock.set(start + timedelta(days=181))
    buy_online(client, key, member.member_number, 900, "W-after")

    manager = sign_in(app, "M001")
    first_day = start.astimezone(settings.tz).date()
    last_day = (start + timedelta(days=182)).astimezone(settings.tz).date()
    row = report_row(manager, "C001", start=first_day.isoformat(), end=last_day.isoformat())
    assert (row["purchases"], row["revenue"]) == ("1", "500")


def test_the_csv_export_opens_in_excel_and_defuses_formulas(app, client, platform, runtime, settings, team):
    make_staff(runtime.sessions, code="C009", name='=HYPERLINK("http://x")', store=team["store"])
    user = friend(platform)
    platform.send_text(user, typed_message(client, referral_link(app, "C001")))
    join_through(app, client, settings, user)

    answer = sign_in(app, "M001").get("/staff/referrals/report.csv")

    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    raw = answer.get_data()
    assert raw.startswith(b"\xef\xbb\xbf"), "a byte order mark, so Excel reads UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["門市", "員工編號", "員工", "推薦碼使用次數"]
    by_code = {row[1]: row for row in rows[1:-1]}
    assert by_code["C001"][5] == "1", "one join"
    assert by_code["C009"][2] == '\'=HYPERLINK("http://x")', "a formula is shown as text"
    assert rows[-1][0] == "合計"


def test_a_manager_sees_only_their_own_store(app, team):
    manager = sign_in(app, "M001")
    other = str(team["other"].id)

    refused = manager.get("/staff/referrals/report", query_string={"store": other})
    refused_csv = manager.get("/staff/referrals/report.csv", query_string={"store": other})
    own = manager.get("/staff/referrals/report")

    assert refused.status_code == refused_csv.status_code == 403
    assert "您只能查看自己門市的推薦成效" in text_of(refused)
    assert "row-K001" not in text_of(own) and "row-C001" in text_of(own)
    assert sign_in(app, "C001").get("/staff/referrals/report").status_code == 403, "clerks see no report"


def test_an_admin_sees_every_store_and_filters_by_one(app, runtime, team):
    make_staff(runtime.sessions, code="A001", name="總部", role="admin")
    admin = sign_in(app, "A001")

    everything = text_of(admin.get("/staff/referrals/report"))
    one = text_of(admin.get("/staff/referrals/report", query_string={"store": str(team["other"].id)}))

    assert "row-C001" in everything and "row-K001" in everything
    assert "row-K001" in one and "row-C001" not in one
    assert admin.get("/staff/referrals/report", query_string={"store": "999"}).status_code == 404


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"start": "2026-03-10", "end": "2026-03-01"}, 400, "結束日期不能早於開始日期"),
        ({"start": "2026-13-01", "end": "2026-03-01"}, 400, "請輸入正確的日期"),
        ({"start": "x" * 5000, "end": "2026-03-01"}, 400, "請輸入正確的日期"),
        ({"start": "2024-01-01", "end": "2026-03-01"}, 400, "查詢期間最長一年"),
        ({"start": "9999-12-31", "end": "9999-12-31"}, 400, "請輸入正確的日期"),
        ({"start": "0001-01-01", "end": "0001-01-01"}, 400, "請輸入正確的日期"),
        ({"store": "abc"}, 400, "找不到這間門市"),
    ],
)
def test_a_bad_period_or_store_is_refused_with_a_clear_message(app, team, query, status, message):
    manager = sign_in(app, "M001")
    answer = manager.get("/staff/referrals/report", query_string=query)
    export = manager.get("/staff/referrals/report.csv", query_string=query)

    assert answer.status_code == export.status_code == status
    assert message in text_of(answer) and message in text_of(export)


@pytest.mark.parametrize("code", ["ZZZZ-ZZZZ", "abc", "A" * 500, "../../etc", "C001", "推薦碼"])
def test_an_unknown_or_odd_code_gets_a_friendly_page_and_records_nothing(client, session, team, code):
    answer = client.get(f"/r/{code}")

    assert answer.status_code == 404
    assert "找不到這個推薦碼" in text_of(answer)
    assert count(session, ReferralTouch) == 0


@pytest.mark.parametrize("typed", ["推薦碼 ZZZZ-ZZZZ", "推薦碼 " + "9" * 60, "推薦碼：<script>"])
def test_an_unknown_code_in_the_chat_is_answered_and_records_nothing(platform, session, team, typed):
    user = friend(platform)

    platform.send_text(user, typed)

    assert any("這個推薦碼無法使用" in reply for reply in texts(platform.bot_messages(user)))
    assert count(session, ReferralTouch) == 0


def test_a_deactivated_clerks_code_stops_working(app, client, platform, runtime, session, team):
    from bot.services.staff.accounts import set_active
    from models import Staff

    link = referral_link(app, "C001")
    with transaction(runtime.sessions) as tx:
        clerk = tx.scalars(select(Staff).where(Staff.code == "C001")).one()
        set_active(tx, clerk, False, actor=None, at=datetime.now(UTC))

    assert client.get(urlsplit(link).path).status_code == 404
    assert count(session, ReferralTouch) == 0


def test_codes_are_read_as_typed_in_either_case_with_or_without_the_dash():
    assert normalise_code("abcd-efgh") == normalise_code("ABCD EFGH") == "ABCDEFGH"
    assert normalise_code("ABCD-EFG1") is None, "1 is not in the alphabet"
    assert normalise_code("ABCDEF") is None, "six characters is an invite code's shape, not a referral code's"
    assert normalise_code("A" * 41) is None


def test_the_print_page_shows_one_qr_code_with_the_store_and_clerk(app, team):
    page = text_of(sign_in(app, "C001").get("/staff/referrals/mine"))

    assert page.count("<svg") == 1
    assert element_text(page, "referral-store") == "台北信義店" and element_text(page, "referral-staff") == "王小美"
    stylesheet = Path(__file__).resolve().parents[2] / "bot" / "static" / "staff" / "referrals.css"
    assert "@media print" in stylesheet.read_text(encoding="utf-8")


def test_staff_without_a_store_have_no_code(app, runtime):
    make_staff(runtime.sessions, code="A001", name="總部", role="admin")

    answer = sign_in(app, "A001").get("/staff/referrals/mine")

    assert answer.status_code == 403
    assert "只有門市的店員與店長有個人推薦碼" in text_of(answer)


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5"])
def test_referral_credit_days_must_be_a_positive_whole_number(value):
    from bot.settings import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="REFERRAL_CREDIT_DAYS"):
        Settings.from_env({"APP_ENV": "test", "REFERRAL_CREDIT_DAYS": value})
    assert Settings.from_env({"APP_ENV": "test", "REFERRAL_CREDIT_DAYS": "30"}).referral_credit_days == 30
