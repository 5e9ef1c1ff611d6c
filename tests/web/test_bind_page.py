"""The bind page: a LINE user proves they own a membership's phone with an SMS code, within limits, and every
refusal leaves things as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.db import transaction
from bot.links import bind_url
from bot.services.membership.binding import unbind
from bot.sms import SmsDeliveryError, wait_for_background_sends
from models import AccountLinkNonce, Member, PhoneVerification
from tests.binding_helpers import (
    Shopper,
    bind_page_url,
    fetch,
    field,
    friend,
    path_of,
    sms_codes,
    text_of,
    wait_for,
)
from tests.factories import make_member
from tests.helpers import count

PHONE = "+886912345678"


@pytest.fixture
def member(runtime):
    return make_member(runtime.sessions, phone=PHONE)


@pytest.fixture
def shopper(app, runtime, platform):
    return Shopper(app, runtime, platform)


def test_a_number_that_is_no_members_gets_the_same_answer_and_no_text(shopper, member, app, session):
    member_answer = shopper.ask_code("0912-345-678")
    member_page = shopper.page
    stranger = shopper.ask_code("0987-654-321")

    for answer, page in ((member_answer, member_page), (stranger, shopper.page)):
        assert answer.status_code == 200
        assert "如果此號碼是會員，您會收到簡訊驗證碼" in page and 'id="code"' in page
    wait_for_background_sends()
    assert [to for to, _text in app.extensions["sms"].messages()] == [PHONE]
    assert count(session, PhoneVerification) == 2, "both count towards the hourly limits"


def test_a_wrong_code_is_refused_with_the_tries_left_and_nothing_is_linked(shopper, member, app, session):
    shopper.ask_code()
    (code,) = sms_codes(app, PHONE)

    answer = shopper.enter("000000" if code != "000000" else "111111")

    assert answer.status_code == 422
    assert "驗證碼不正確，還可以再試 4 次" in shopper.page and "4 tries left" in shopper.page
    assert count(session, AccountLinkNonce) == 0
    assert session.scalars(select(PhoneVerification.failed_attempts)).one() == 1


def test_the_sixth_try_is_refused_even_with_the_right_code(shopper, member, app, session):
    shopper.ask_code()
    (code,) = sms_codes(app, PHONE)
    wrong = "000000" if code != "000000" else "111111"

    answers = [shopper.enter(wrong) for _ in range(5)]
    sixth = shopper.enter(code)

    assert [a.status_code for a in answers] == [422] * 5
    assert sixth.status_code == 422
    assert "錯誤次數過多，這組驗證碼已失效，請重新索取" in shopper.page
    assert count(session, AccountLinkNonce) == 0
    assert session.scalars(select(PhoneVerification.failed_attempts)).one() == 5


def test_an_expired_code_is_refused(shopper, member, app, session):
    shopper.ask_code()
    (code,) = sms_codes(app, PHONE)
    session.execute(update(PhoneVerification).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))

    answer = shopper.enter(code)

    assert answer.status_code == 422
    assert "驗證碼已過期或已被新的驗證碼取代，請重新索取" in shopper.page
    assert count(session, AccountLinkNonce) == 0


def test_a_new_code_replaces_the_last_one(shopper, member, app, session):
    shopper.ask_code()
    first_step = field(shopper.page, "v")
    shopper.ask_code()
    second_step = field(shopper.page, "v")
    first, second = sms_codes(app, PHONE)

    superseded = shopper.enter(first, step=first_step)
    latest = shopper.enter(second, step=second_step)

    assert superseded.status_code == 422
    assert "驗證碼已過期或已被新的驗證碼取代，請重新索取" in shopper.page
    assert latest.status_code == 302


def test_a_code_step_from_another_line_users_page_is_refused(app, runtime, platform, member, session):
    victim, attacker = Shopper(app, runtime, platform, "阿美"), Shopper(app, runtime, platform, "阿壞")
    victim.ask_code()
    (code,) = sms_codes(app, PHONE)
    attacker.open()

    answer = attacker.enter(code, step=field(victim.page, "v"))

    assert answer.status_code == 403
    assert "連結無效" in text_of(answer)
    assert count(session, AccountLinkNonce) == 0
    assert session.scalars(select(PhoneVerification.verified_at)).one() is None


@pytest.mark.parametrize("typed", ["0912-345-678", "+886 912 345 678", "0912345678"])
def test_the_phone_may_be_typed_in_any_usual_way(shopper, member, app, typed):
    assert shopper.ask_code(typed).status_code == 200
    assert len(sms_codes(app, PHONE)) == 1


@pytest.mark.parametrize("typed", ["12345", "", "02-2345-6789", "phone"])
def test_a_phone_that_is_not_a_mobile_number_is_refused_and_nothing_is_stored(shopper, member, app, session, typed):
    answer = shopper.ask_code(typed)

    assert answer.status_code == 422
    assert "請填寫正確的手機號碼，例如 0912-345-678" in shopper.page
    assert count(session, PhoneVerification) == 0 and sms_codes(app, PHONE) == []


def test_the_sixth_code_for_one_phone_in_an_hour_is_refused(shopper, member, app, session):
    answers = [shopper.ask_code().status_code for _ in range(6)]

    assert answers == [200] * 5 + [429]
    assert "這個手機號碼在一小時內已索取太多次驗證碼，請稍後再試" in shopper.page
    assert count(session, PhoneVerification) == 5 and len(sms_codes(app, PHONE)) == 5


def test_a_link_token_older_than_ten_minutes_closes_the_page(app, runtime, platform, member, session):
    user = friend(platform)
    stale = bind_page_url(runtime, user, issued_at=datetime.now(UTC) - timedelta(minutes=10, seconds=1))

    answer = app.test_client().get(path_of(stale))

    assert answer.status_code == 410
    assert "綁定連結已過期或已使用，請回到 LINE 重新點選「綁定既有會員」" in text_of(answer)


def test_a_link_token_the_bot_never_recorded_closes_the_page(app, runtime, platform, settings):
    user = friend(platform)
    answer = app.test_client().get(path_of(bind_url(settings, user, "not-a-recorded-token")))

    assert answer.status_code == 410
    assert "綁定連結無效" in text_of(answer)


def test_a_link_token_spent_by_a_completed_link_cannot_open_the_page_again(shopper, member, app, runtime, session):
    shopper.ask_code()
    fetch(shopper.enter(sms_codes(app, PHONE)[0]).headers["Location"])
    assert wait_for(lambda: any("綁定完成" in text for text in shopper.chat()))
    with transaction(runtime.sessions) as tx:
        unbind(tx, tx.get_one(Member, member.id), channel="chat", at=datetime.now(UTC))

    answer = shopper.open()

    assert answer.status_code == 410
    assert "已過期或已使用" in text_of(answer)


def test_a_line_user_who_is_already_a_member_is_told_so(app, runtime, platform):
    shopper = Shopper(app, runtime, platform)
    make_member(runtime.sessions, phone="+886987654321", bound_to=shopper.user)

    answer = shopper.open()

    assert answer.status_code == 409
    assert "您的 LINE 帳號已綁定會員" in text_of(answer)


def test_a_forged_page_link_or_code_step_is_refused(shopper, member, app, session):
    shopper.ask_code()
    forged_page = shopper.browser.get(path_of(shopper.page_url)[:-4] + "AAAA")
    forged_step = shopper.enter("123456", step=field(shopper.page, "v")[:-4] + "AAAA")

    assert forged_page.status_code == forged_step.status_code == 400
    assert "連結無效，請回到 LINE 重新開啟" in text_of(forged_page)
    assert session.scalars(select(PhoneVerification.failed_attempts)).one() == 0


def test_a_code_request_without_the_csrf_token_is_refused(shopper, member, app, session):
    shopper.open()

    answer = shopper.browser.post("/members/bind/code", data={"t": field(shopper.page, "t"), "phone": "0912345678"})

    assert answer.status_code == 400
    assert "頁面已逾時，請重新送出" in text_of(answer)
    assert count(session, PhoneVerification) == 0


def test_a_gateway_failure_is_logged_and_answered_like_any_number(shopper, member, app, caplog):
    class BrokenGateway:
        def send(self, phone_e164, text):
            raise SmsDeliveryError("SMS gateway answered 503 for +886*****5678")

    app.extensions["sms"] = BrokenGateway()

    answer = shopper.ask_code()
    wait_for_background_sends()

    assert answer.status_code == 200 and "如果此號碼是會員，您會收到簡訊驗證碼" in shopper.page
    assert "not sent" in caplog.text and "912345678" not in caplog.text
