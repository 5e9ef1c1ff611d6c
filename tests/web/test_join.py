"""A new shopper joins on the page the chat links to, and their LINE account is bound at once."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select

from bot import links
from bot.app import create_app
from bot.links import join_url
from bot.services.membership.joining import PRIVACY_VERSION, TERMS_VERSION
from models import BindingAudit, Consent, LineUser, Member, OutboundMessage, PointEntry
from tests.binding_helpers import field, friend, path_of, sms_codes, text_of
from tests.helpers import count, texts

GOOD = {"name": "林怡君", "phone": "0912-345-678", "birthday": "1990-03-14", "consent": "yes"}


def open_join_page(client, settings, user):
    page = client.get(path_of(join_url(settings, user)))
    assert page.status_code == 200
    return text_of(page)


def submit(client, page, **fields):
    """Step 1: the form; answered with the code step."""
    form = {"t": field(page, "t"), "csrf_token": field(page, "csrf_token"), **fields}
    return client.post("/members/join", data=form)


def enter(client, page, code, step=None):
    """Step 2: the code typed on the code step's page."""
    form = {
        "t": field(page, "t"),
        "v": step or field(page, "v"),
        "masked": field(page, "masked", default=""),
        "csrf_token": field(page, "csrf_token"),
        "code": code,
    }
    return client.post("/members/join/verify", data=form)


def join(app, client, page, **fields):
    """Both steps: the form, then the code texted to its phone."""
    asked = submit(client, page, **fields)
    assert asked.status_code == 200, text_of(asked)
    phone = "+886" + "".join(ch for ch in fields["phone"] if ch.isdigit()).removeprefix("886").removeprefix("0")
    return enter(client, text_of(asked), sms_codes(app, phone)[-1])


def rows(session):
    return [count(session, model) for model in (Member, BindingAudit, Consent, PointEntry, OutboundMessage)]


def test_the_join_page_asks_for_name_phone_birthday_and_consent_in_both_languages(client, platform, settings):
    user = friend(platform)

    page = open_join_page(client, settings, user)

    for words in ("加入會員", "Become a member", "手機號碼", "Mobile number", "生日", "選填"):
        assert words in page
    assert "個人資料保護法" in page and "會員服務與行銷" in page and "第 3 條" in page
    assert "刪除我的資料" in page, "the notice says how to withdraw consent"
    assert 'name="viewport" content="width=device-width' in page


def test_a_new_shopper_proves_their_phone_joins_and_is_bound_to_their_line_account(
    app, client, platform, settings, session
):
    user = friend(platform)
    seen = len(platform.bot_messages(user))

    asked = submit(client, open_join_page(client, settings, user), **GOOD, marketing="yes")
    assert asked.status_code == 200 and count(session, Member) == 0, "nothing is created before the code"
    assert "如果號碼正確，您會收到簡訊驗證碼（+886*****5678）" in text_of(asked)
    (code,) = sms_codes(app, "+886912345678")
    ((_to, sms),) = app.extensions["sms"].messages()
    assert sms == f"【OMO 烘焙坊】您的加入會員驗證碼為 {code}，5 分鐘內有效。請勿提供給他人。"
    done = enter(client, text_of(asked), code)

    assert done.status_code == 200
    assert "加入完成" in text_of(done) and "https://line.me/R/" in text_of(done)
    line_user = session.scalars(select(LineUser).where(LineUser.line_user_id == user)).one()
    member = session.scalars(select(Member).where(Member.line_user_id == line_user.id)).one()
    assert (member.name, member.phone_e164, member.birthday, member.source) == (
        "林怡君",
        "+886912345678",
        date(1990, 3, 14),
        "line",
    )
    assert member.member_number in text_of(done)
    audit = session.scalars(select(BindingAudit).where(BindingAudit.member_id == member.id)).one()
    assert (audit.action, audit.channel, audit.line_user_id) == ("bind", "line_page", line_user.id)
    consent = session.scalars(select(Consent).where(Consent.member_id == member.id)).one()
    assert (consent.terms_version, consent.privacy_version, consent.channel) == (
        TERMS_VERSION,
        PRIVACY_VERSION,
        "line_page",
    )
    assert consent.marketing_opt_in and consent.created_at is not None
    welcome = texts(platform.bot_messages(user)[seen:])
    assert welcome == [f"歡迎加入 OMO 烘焙坊 會員！您的會員編號是 {member.member_number}。"]
    assert count(session, PointEntry) == 0, "no welcome reward unless WELCOME_POINTS says so"


def test_an_english_speaking_shopper_gets_the_welcome_in_english(app, client, platform, settings, session):
    user = friend(platform, "Amy", language="en")
    seen = len(platform.bot_messages(user))

    join(app, client, open_join_page(client, settings, user), **GOOD)

    number = session.scalars(select(Member.member_number)).one()
    assert texts(platform.bot_messages(user)[seen:]) == [
        f"Welcome to OMO 烘焙坊 membership! Your member number is {number}."
    ]


def test_welcome_points_are_given_once_when_the_brand_sets_them(settings, runtime, platform, session):
    generous = replace(settings, welcome_points=50)
    generous_app = create_app(generous, replace(runtime, settings=generous))
    client = generous_app.test_client()
    user = friend(platform)
    seen = len(platform.bot_messages(user))

    done = join(generous_app, client, open_join_page(client, settings, user), **GOOD)

    member = session.scalars(select(Member)).one()
    entry = session.scalars(select(PointEntry)).one()
    assert (entry.member_id, entry.kind, entry.points, entry.channel, entry.reason, entry.idempotency_key) == (
        member.id,
        "earn",
        50,
        "campaign",
        "入會禮",
        f"welcome:{member.id}",
    )
    assert "已送上入會禮 50 點" in text_of(done)
    assert "已送上入會禮 50 點。" in texts(platform.bot_messages(user)[seen:])[0]


@pytest.mark.parametrize("typed", ["0912-345-678", "+886 912 345 678", "0912345678", "(09) 1234-5678"])
def test_a_phone_number_is_accepted_however_it_is_typed(app, client, platform, settings, session, typed):
    user = friend(platform)

    done = join(app, client, open_join_page(client, settings, user), **{**GOOD, "phone": typed})

    assert done.status_code == 200
    assert session.scalars(select(Member.phone_e164)).one() == "+886912345678"


@pytest.mark.parametrize(
    ("changes", "zh", "en"),
    [
        ({"phone": "12345"}, "請填寫正確的手機號碼", "Please enter a valid mobile number"),
        ({"phone": "02-2345-6789"}, "請填寫正確的手機號碼", "Please enter a valid mobile number"),
        ({"name": "   "}, "請填寫姓名（1 到 50 個字）", "Please enter your name"),
        ({"name": "林" * 51}, "請填寫姓名（1 到 50 個字）", "Please enter your name"),
        ({"birthday": "2999-01-01"}, "生日請填寫過去的日期", "must be a date in the past"),
        ({"birthday": "1990-02-30"}, "生日請填寫過去的日期", "must be a date in the past"),
        ({"consent": ""}, "請閱讀並同意會員條款與隱私權政策", "Please read and accept"),
    ],
)
def test_each_bad_input_shows_the_form_again_with_the_reason_and_changes_nothing(
    client, platform, settings, session, changes, zh, en
):
    user = friend(platform)
    before = rows(session)

    answer = submit(client, open_join_page(client, settings, user), **{**GOOD, **changes})

    assert answer.status_code == 422
    assert zh in text_of(answer) and en in text_of(answer)
    assert 'id="join"' in text_of(answer), "the form is shown again"
    assert rows(session) == before


def test_a_line_user_who_is_already_a_member_is_told_so_and_nothing_changes(app, client, platform, settings, session):
    user = friend(platform)
    page = open_join_page(client, settings, user)
    join(app, client, page, **GOOD)
    before = rows(session)

    reopened = client.get(path_of(join_url(settings, user)))
    resent = submit(client, page, **{**GOOD, "phone": "0987-654-321"})

    assert reopened.status_code == 409 and resent.status_code == 409
    assert "您的 LINE 帳號已綁定會員" in text_of(reopened) and "already linked" in text_of(reopened)
    assert rows(session) == before


def test_a_forged_link_is_refused(client, platform, settings):
    user = friend(platform)
    forged = path_of(join_url(settings, user))[:-3] + "AAA"

    answer = client.get(forged)

    assert answer.status_code == 400
    assert "連結無效，請回到 LINE 重新開啟" in text_of(answer)


def test_an_expired_link_is_refused_and_its_form_cannot_be_sent(client, platform, settings, session, monkeypatch):
    user = friend(platform)
    page = open_join_page(client, settings, user)
    with monkeypatch.context() as past:
        past.setattr(links, "_now_seconds", lambda: int(time.time()) - 11 * 60)
        old_link = join_url(settings, user)
    stale_form = {**GOOD, "t": old_link.split("t=")[1], "csrf_token": field(page, "csrf_token")}

    opened, sent = client.get(path_of(old_link)), client.post("/members/join", data=stale_form)

    assert opened.status_code == sent.status_code == 400
    assert "連結已過期，請回到 LINE 重新開啟" in text_of(opened) and "This link has expired" in text_of(sent)
    assert count(session, Member) == 0


def test_a_link_for_someone_who_never_added_the_bot_is_refused(client, settings):
    answer = client.get(path_of(join_url(settings, "U" + "0" * 32)))

    assert answer.status_code == 404
    assert "請先在 LINE 加入官方帳號好友" in text_of(answer)


def test_a_form_sent_without_this_browsers_csrf_token_is_refused(app, client, platform, settings, session):
    user = friend(platform)
    page = open_join_page(client, settings, user)
    other_browser = app.test_client()

    missing = client.post("/members/join", data={**GOOD, "t": field(page, "t")})
    foreign = other_browser.post(
        "/members/join", data={**GOOD, "t": field(page, "t"), "csrf_token": field(page, "csrf_token")}
    )

    assert missing.status_code == foreign.status_code == 400
    assert "頁面已逾時，請重新送出" in text_of(missing)
    assert count(session, Member) == 0
