"""The join page proves the phone before anything is created: a texted code, answered the same for every phone,
so that the page tells nobody who is a member and nobody can claim someone else's number."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.links import join_url
from bot.sms import wait_for_background_sends
from models import AccountLinkNonce, BindingAudit, Consent, Member, PhoneVerification
from tests.binding_helpers import (
    bound_line_user_id,
    code_step_form,
    fetch,
    field,
    friend,
    line_user_pk,
    path_of,
    sms_codes,
    text_of,
    wait_for,
)
from tests.factories import make_member
from tests.helpers import count

OWNER_PHONE = "+886912345678"
FORM = {"name": "王小明", "phone": "0912-345-678", "birthday": "1991-05-06", "consent": "yes"}


class Browser:
    """One LINE user on the join page in their own browser."""

    def __init__(self, app, platform, settings, name="王小明"):
        self.app = app
        self.user = friend(platform, name)
        self.client = app.test_client()
        self.page = text_of(self.client.get(path_of(join_url(settings, self.user))))

    def send_form(self, **changes):
        form = {"t": field(self.page, "t"), "csrf_token": field(self.page, "csrf_token"), **FORM, **changes}
        answer = self.client.post("/members/join", data=form)
        self.page = text_of(answer)
        return answer

    def enter(self, code, step=None):
        answer = self.client.post("/members/join/verify", data=code_step_form(self.page, code, step))
        if answer.status_code != 302:
            self.page = text_of(answer)
        return answer


@pytest.fixture
def owner(runtime):
    """A member (not bound to LINE) who owns 0912-345-678."""
    return make_member(runtime.sessions, phone=OWNER_PHONE)


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_wrong_code_creates_nothing_and_counts_the_try(app, platform, settings, session):
    shopper = Browser(app, platform, settings)
    shopper.send_form()
    (code,) = sms_codes(app, OWNER_PHONE)

    answer = shopper.enter(wrong(code))

    assert answer.status_code == 422
    assert "驗證碼不正確，還可以再試 4 次" in shopper.page and 'id="verify"' in shopper.page
    assert [count(session, model) for model in (Member, BindingAudit, Consent)] == [0, 0, 0]
    assert session.scalars(select(PhoneVerification.failed_attempts)).one() == 1
    assert shopper.enter(code).status_code == 200, "the right code still works within its tries"
    assert session.scalars(select(Member.phone_e164)).one() == OWNER_PHONE


def test_someone_elses_phone_cannot_be_claimed_without_its_code(app, platform, settings, session, owner):
    intruder = Browser(app, platform, settings, "阿壞")

    asked = intruder.send_form()
    answers = [intruder.enter(f"{n:06d}").status_code for n in range(5)]
    with_the_right_code_too_late = intruder.enter(sms_codes(app, OWNER_PHONE)[0]).status_code

    assert asked.status_code == 200
    assert answers == [422] * 5 and with_the_right_code_too_late == 422
    assert "錯誤次數過多" in intruder.page
    assert count(session, Member) == 1 and bound_line_user_id(session, owner.id) is None
    assert count(session, AccountLinkNonce) == 0


def test_the_owner_is_told_by_sms_and_a_stranger_never_sees_whether_the_phone_is_a_members(
    app, platform, settings, session, owner
):
    intruder = Browser(app, platform, settings, "阿壞")
    intruder.send_form()
    wait_for_background_sends()

    ((to, text),) = app.extensions["sms"].messages()

    assert to == OWNER_PHONE
    assert "此手機號碼已是會員" in text and "如非本人操作，請忽略此簡訊" in text
    assert "已是會員" not in intruder.page and "already" not in intruder.page


def test_a_members_phone_and_a_strangers_get_the_same_page_and_status(app, platform, settings, owner):
    member_phone, stranger_phone = Browser(app, platform, settings), Browser(app, platform, settings)

    answers = [member_phone.send_form(), stranger_phone.send_form(phone="0987-654-321")]
    pages = [member_phone.page, stranger_phone.page]

    assert [a.status_code for a in answers] == [200, 200]
    assert "如果號碼正確，您會收到簡訊驗證碼" in pages[0]

    def neutral(page: str) -> str:
        for name in ("t", "v", "csrf_token"):
            page = page.replace(field(page, name), f"<{name}>")
        return page.replace("+886*****5678", "<masked>").replace("+886*****4321", "<masked>")

    assert neutral(pages[0]) == neutral(pages[1])
    assert len(sms_codes(app, OWNER_PHONE)) == len(sms_codes(app, "+886987654321")) == 1


def test_the_members_own_code_links_their_membership_through_lines_dialog(
    app, platform, settings, session, base_url, owner
):
    holder = Browser(app, platform, settings, "林怡君")
    holder.send_form()

    redirect = holder.enter(sms_codes(app, OWNER_PHONE)[0])

    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith(f"{base_url}/dev/line/dialog/bot/accountLink?linkToken=")
    assert session.scalars(select(AccountLinkNonce.member_id)).one() == owner.id
    status, _dialog = fetch(redirect.headers["Location"])
    assert status == 200
    assert wait_for(lambda: bound_line_user_id(session, owner.id)) == line_user_pk(session, holder.user)
    assert count(session, Member) == 1, "no second membership for the same phone"


def test_a_code_step_from_another_line_users_page_is_refused(app, platform, settings, session, owner):
    victim, intruder = Browser(app, platform, settings, "林怡君"), Browser(app, platform, settings, "阿壞")
    victim.send_form()
    (code,) = sms_codes(app, OWNER_PHONE)

    answer = intruder.enter(code, step=field(victim.page, "v"))

    assert answer.status_code == 403
    assert session.scalars(select(PhoneVerification.verified_at)).one() is None
    assert count(session, AccountLinkNonce) == 0


def test_a_forged_or_altered_code_step_is_refused(app, platform, settings, session):
    shopper = Browser(app, platform, settings)
    shopper.send_form()
    (code,) = sms_codes(app, OWNER_PHONE)
    step = field(shopper.page, "v")
    payload, _, signature = step.rpartition(".")
    altered = re.sub(r"[A-Za-z]", lambda m: m.group(0).swapcase(), payload, count=3) + "." + signature

    answers = []
    for bad_step in (altered, step[:-4] + "AAAA"):
        code_page = shopper.page
        answers.append(shopper.enter(code, step=bad_step))
        shopper.page = code_page

    assert [a.status_code for a in answers] == [400, 400]
    assert count(session, Member) == 0
    assert session.scalars(select(PhoneVerification.failed_attempts)).one() == 0


def test_too_many_codes_for_one_phone_are_refused_alike_for_members_and_not(app, platform, settings, owner):
    statuses = {}
    for phone in ("0912-345-678", "0987-654-321"):
        shopper = Browser(app, platform, settings)
        statuses[phone] = [shopper.send_form(phone=phone).status_code for _ in range(6)]

    assert statuses["0912-345-678"] == statuses["0987-654-321"] == [200] * 5 + [429]
