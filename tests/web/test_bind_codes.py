"""Binding at the counter: a clerk's POS issues a 6-digit code, the member types it in the chat within 10 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.refusal_texts import text_for
from bot.services.membership import bind_codes
from bot.services.membership.bind_codes import issue_bind_code, redeem_bind_code
from bot.services.membership.binding import BindingRefused, bind
from bot.services.rate_limits import BIND_CODE_WRONG
from models import BindCode, BindingAudit, LineUser, Member, Store
from tests.factories import make_member
from tests.helpers import count
from tests.pos import assert_matches_openapi, make_line_user, open_shop

BIND_CODES = "/members/{member_number}/bind-codes"


@pytest.fixture
def shop(runtime):
    return open_shop(runtime.sessions)


def issue(client, shop, number="M000001", **body):
    """Ask for a bind code, by clerk C001 unless `body` says otherwise (`staff_code=None`: no clerk at all)."""
    body = {"staff_code": "C001", **body}
    if body["staff_code"] is None:
        del body["staff_code"]
    response = client.post(f"/api/v1/members/{number}/bind-codes", json=body or None, headers=shop.auth)
    assert_matches_openapi(response, BIND_CODES, "post")
    return response


def redeem(runtime, code, line_user, now=None):
    """Redeem as the chat handler does: one transaction, committed even when the code is refused."""
    with transaction(runtime.sessions) as tx:
        try:
            user = tx.get(LineUser, line_user.id)
            member = redeem_bind_code(tx, code, user, now or datetime.now(UTC), limiter=runtime.limiter)
        except BindingRefused as exc:
            return text_for(exc)
        return member.member_number


def bound_line_user(session, number="M000001"):
    return session.scalars(select(Member.line_user_id).where(Member.member_number == number)).one()


def test_a_clerk_issues_a_code_and_the_member_redeems_it_in_the_chat(client, runtime, session, shop):
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    before = datetime.now(UTC)

    response = issue(client, shop, staff_code="C001")

    assert response.status_code == 201
    code, expires_at = response.get_json()["code"], datetime.fromisoformat(response.get_json()["expires_at"])
    assert len(code) == 6 and code.isdigit()
    assert before + timedelta(minutes=10) <= expires_at <= datetime.now(UTC) + timedelta(minutes=10)

    assert redeem(runtime, code, line_user) == "M000001"

    assert bound_line_user(session) == line_user.id
    audit = session.scalars(select(BindingAudit)).one()
    assert (audit.action, audit.channel, audit.line_user_id) == ("bind", "counter", line_user.id)
    assert (audit.staff_id, audit.store_id) == (shop.clerk_id, shop.store_id)
    used = session.scalars(select(BindCode)).one()
    assert used.used_by_line_user_id == line_user.id and used.used_at is not None and not used.is_active
    assert session.scalars(select(LineUser.rich_menu_state).where(LineUser.id == line_user.id)).one() == "member"


def test_a_code_typed_with_full_width_digits_or_spaces_still_works(client, runtime, session, shop):
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    code = issue(client, shop).get_json()["code"]
    typed = " ".join(chr(ord("０") + int(digit)) for digit in code)

    assert redeem(runtime, typed, line_user) == "M000001"


@pytest.mark.parametrize("body", [{"staff_code": None}, {"staff_code": ""}], ids=["no-clerk", "empty-clerk"])
def test_no_code_is_issued_without_a_clerk(client, runtime, session, shop, body):
    make_member(runtime.sessions)

    response = issue(client, shop, **body)

    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert count(session, BindCode) == 0


def test_a_code_is_audited_with_the_clerk_and_the_store(client, runtime, session, shop):
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)

    redeem(runtime, issue(client, shop).get_json()["code"], line_user)

    audit = session.scalars(select(BindingAudit)).one()
    assert (audit.staff_id, audit.store_id) == (shop.clerk_id, shop.store_id)


def test_no_code_is_issued_for_a_member_already_bound_to_a_line_account(client, runtime, session, shop):
    make_member(runtime.sessions, line_user=make_line_user(runtime.sessions))

    response = issue(client, shop)

    assert response.status_code == 409
    assert response.get_json()["message"] == "此會員已綁定 LINE 帳號，如需更換請先解除綁定"
    assert count(session, BindCode) == 0


def test_no_code_is_issued_for_an_erased_member(client, runtime, session, shop):
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        tx.get(Member, member.id).erased_at = datetime.now(UTC)

    response = issue(client, shop)

    assert response.status_code == 409
    assert response.get_json()["message"] == "此會員資料已刪除，無法綁定"
    assert count(session, BindCode) == 0


@pytest.mark.parametrize("staff_code", ["K001", "C002", "nobody"])
def test_a_staff_code_that_is_not_an_active_clerk_of_this_store_is_refused(client, runtime, session, shop, staff_code):
    make_member(runtime.sessions)

    response = issue(client, shop, staff_code=staff_code)

    assert response.status_code == 422
    assert response.get_json()["message"] == "找不到此門市的在職人員代碼"
    assert count(session, BindCode) == 0


def test_an_unknown_member_gets_no_code(client, session, shop):
    assert issue(client, shop, number="M404").status_code == 404
    assert count(session, BindCode) == 0


def test_an_expired_code_is_refused_and_changes_nothing(client, runtime, session, shop):
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    code = issue(client, shop).get_json()["code"]

    answer = redeem(runtime, code, line_user, now=datetime.now(UTC) + timedelta(minutes=10, seconds=1))

    assert answer == "此綁定碼已失效，請洽門市人員重新產生"
    assert bound_line_user(session) is None
    assert count(session, BindingAudit) == 0
    assert session.scalars(select(BindCode.used_at)).one() is None


def test_a_used_code_cannot_bind_a_second_line_account(client, runtime, session, shop):
    make_member(runtime.sessions)
    first, second = make_line_user(runtime.sessions), make_line_user(runtime.sessions)
    code = issue(client, shop).get_json()["code"]
    redeem(runtime, code, first)

    assert redeem(runtime, code, second) == "此綁定碼已使用過，請洽門市人員重新產生"

    assert bound_line_user(session) == first.id
    assert count(session, BindingAudit) == 1


def test_a_code_for_a_member_since_bound_to_someone_else_is_refused_and_stays_unused(client, runtime, session, shop):
    member = make_member(runtime.sessions)
    owner, stranger = make_line_user(runtime.sessions), make_line_user(runtime.sessions)
    code = issue(client, shop).get_json()["code"]
    with transaction(runtime.sessions) as tx:
        bind(tx, tx.get(Member, member.id), tx.get(LineUser, owner.id), channel="line_page", at=datetime.now(UTC))

    assert redeem(runtime, code, stranger) == "此會員已綁定其他 LINE 帳號，請洽門市人員協助解除綁定"

    assert bound_line_user(session) == owner.id
    assert count(session, BindingAudit) == 1
    row = session.scalars(select(BindCode)).one()
    assert (row.used_at, row.is_active) == (None, True)
    assert runtime.limiter.remaining(BIND_CODE_WRONG, stranger.line_user_id) == 5, "not counted as a wrong code"


def test_a_line_account_already_bound_to_another_member_cannot_redeem(client, runtime, session, shop):
    line_user = make_line_user(runtime.sessions)
    make_member(runtime.sessions, member_number="M000002", phone="+886922333444", line_user=line_user)
    make_member(runtime.sessions)
    code = issue(client, shop).get_json()["code"]

    assert redeem(runtime, code, line_user) == "您的 LINE 帳號已綁定其他會員，請先解除綁定"

    assert bound_line_user(session) is None
    assert session.scalars(select(BindCode.used_at)).one() is None


def test_a_new_code_for_a_member_makes_the_earlier_one_stop_working(client, runtime, shop, monkeypatch):
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    draws = iter([111111, 222222])
    monkeypatch.setattr(bind_codes.secrets, "randbelow", lambda _: next(draws))
    first = issue(client, shop).get_json()["code"]
    second = issue(client, shop).get_json()["code"]

    assert redeem(runtime, first, line_user) == "此綁定碼已失效，請洽門市人員重新產生"
    assert redeem(runtime, second, line_user) == "M000001"


def test_the_sixth_wrong_attempt_is_refused_even_with_the_right_code(client, runtime, session, shop):
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    code = issue(client, shop).get_json()["code"]
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    start = datetime.now(UTC)

    answers = [redeem(runtime, wrong, line_user, now=start + timedelta(seconds=i)) for i in range(5)]
    sixth = redeem(runtime, code, line_user, now=start + timedelta(minutes=1))

    assert answers[:4] == ["綁定碼不正確，請確認後再輸入"] * 4
    assert answers[4] == "綁定碼輸入錯誤太多次，請 10 分鐘後再試"
    assert sixth == "綁定碼輸入錯誤太多次，請 10 分鐘後再試"
    assert bound_line_user(session) is None
    assert session.scalars(select(BindCode.used_at)).one() is None
    assert runtime.limiter.remaining(BIND_CODE_WRONG, line_user.line_user_id) == 0
    assert count(session, BindingAudit) == 0


def test_ten_minutes_after_the_wrong_attempts_the_user_may_try_again(client, runtime, session, shop, limiter_clock):
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    code = issue(client, shop).get_json()["code"]
    start = datetime.now(UTC) - timedelta(minutes=9)

    def redeem_at(code, at):
        limiter_clock.set(at)  # the rate limiter sees the attempt at that time too
        return redeem(runtime, code, line_user, now=at)

    for i in range(5):
        redeem_at("12345" if i % 2 else "abcdef", start + timedelta(seconds=i))

    assert redeem_at(code, start + timedelta(minutes=9)).startswith("綁定碼輸入錯誤太多次")
    assert redeem_at(code, start + timedelta(minutes=10, seconds=5)) == "M000001"


def test_another_line_users_wrong_codes_do_not_count_against_this_one(client, runtime, shop):
    make_member(runtime.sessions)
    guesser, member = make_line_user(runtime.sessions), make_line_user(runtime.sessions)
    for _ in range(5):
        redeem(runtime, "999999", guesser)

    assert redeem(runtime, issue(client, shop).get_json()["code"], member) == "M000001"


def test_an_expired_codes_value_may_be_issued_again_and_a_live_one_may_not(runtime, session, shop, monkeypatch):
    for number, phone in (("M1", "+886911111111"), ("M2", "+886922222222"), ("M3", "+886933333333")):
        make_member(runtime.sessions, member_number=number, phone=phone)
    draws = iter([123456, 123456, 654321, 123456])
    monkeypatch.setattr(bind_codes.secrets, "randbelow", lambda _: next(draws))
    now = datetime.now(UTC)

    def issue_for(number, at):
        with transaction(runtime.sessions) as tx:
            member = tx.scalars(select(Member).where(Member.member_number == number)).one()
            return issue_bind_code(tx, member, store=tx.get(Store, shop.store_id), staff=None, now=at).code

    assert issue_for("M1", now) == "123456"
    assert issue_for("M2", now + timedelta(minutes=1)) == "654321"  # 123456 is live: another draw
    assert issue_for("M3", now + timedelta(minutes=11)) == "123456"  # M1's code has expired

    rows = session.scalars(select(BindCode).order_by(BindCode.id)).all()
    assert [(row.code, row.is_active) for row in rows] == [("123456", False), ("654321", True), ("123456", True)]
