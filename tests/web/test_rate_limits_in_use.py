"""Each rate limit where it is used: one-time codes, counter bind codes, the join page and the POS API. Over the
limit the request is refused and changes nothing; another phone, LINE user, address or key is still let through."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.db import transaction
from bot.links import join_url
from bot.services.membership import line_users
from bot.services.membership.bind_codes import issue_bind_code, redeem_bind_code
from bot.services.membership.binding import BindingRefused
from bot.services.membership.verification import VerificationRefused, request_code
from bot.services.rate_limits import (
    BIND_CODE_WRONG,
    JOIN_PER_IP,
    JOIN_PER_LINE_USER,
    OTP_PER_LINE_USER,
    OTP_PER_PHONE,
    Rule,
)
from bot.services.refusals import Reason
from models import BindCode, BindingAudit, LineUser, Member, PhoneVerification, Store
from models.binding import BindCodeFailure
from tests.binding_helpers import Shopper, field, friend, path_of, text_of
from tests.concurrency import race
from tests.factories import make_member
from tests.helpers import count
from tests.pos import make_line_user, open_shop

PHONE = "+886912345678"
GOOD = {"name": "林怡君", "phone": "0912-345-678", "birthday": "1990-03-14", "consent": "yes"}


def storage_keys(runtime) -> list[str]:
    return list(runtime.limiter.storage.events)


# One-time codes


def ask(runtime, user_id: str, phone: str = PHONE):
    """Request a code as the bind page does; the verification id, or the refusal's reason."""
    with transaction(runtime.sessions) as session:
        line_user = line_users.record_follow(session, user_id, at=datetime.now(UTC))[0]
        try:
            issued = request_code(
                session,
                secret_key=runtime.settings.secret_key,
                limiter=runtime.limiter,
                line_user=line_user,
                phone_e164=phone,
                now=datetime.now(UTC),
            )
        except VerificationRefused as refused:
            return refused.reason
        return issued.verification.id


def test_a_phone_over_its_limit_gets_no_code_and_other_phones_still_do(runtime, session):
    answers = [ask(runtime, f"U{n:032d}") for n in range(OTP_PER_PHONE.amount + 1)]

    assert all(isinstance(a, int) for a in answers[:-1]) and answers[-1] == Reason.TOO_MANY_CODES_FOR_PHONE
    assert count(session, PhoneVerification) == OTP_PER_PHONE.amount
    assert isinstance(ask(runtime, "U" + "9" * 32, phone="+886922333444"), int)


def test_a_line_user_over_its_limit_gets_no_code_and_other_users_still_do(runtime, session):
    user = "U" + "a" * 32
    answers = [ask(runtime, user, phone=f"+88691234{n:04d}") for n in range(OTP_PER_LINE_USER.amount + 1)]

    assert answers[-1] == Reason.TOO_MANY_CODES_FOR_USER
    assert count(session, PhoneVerification) == OTP_PER_LINE_USER.amount
    assert isinstance(ask(runtime, "U" + "b" * 32, phone="+886987654321"), int)


def test_a_request_refused_for_the_user_is_not_counted_against_the_phone(runtime, session):
    user = "U" + "a" * 32
    for n in range(OTP_PER_LINE_USER.amount):
        ask(runtime, user, phone=f"+88691234{n:04d}")

    assert ask(runtime, user) == Reason.TOO_MANY_CODES_FOR_USER
    answers = [ask(runtime, f"U{n:032d}") for n in range(5)]

    assert all(isinstance(a, int) for a in answers), "the refused request used none of the phone's five"


def test_the_bind_page_never_puts_a_phone_number_in_a_limiter_key(app, runtime, platform):
    shopper = Shopper(app, runtime, platform)

    assert shopper.ask_code("0912-345-678").status_code == 200

    keys = storage_keys(runtime)
    assert any("otp-phone" in key for key in keys) and any("otp-line-user" in key for key in keys)
    assert not any("912345678" in key or shopper.user in key for key in keys)


# Counter bind codes


def redeem(runtime, code: str, line_user: LineUser):
    with transaction(runtime.sessions) as tx:
        try:
            return redeem_bind_code(
                tx, code, tx.get_one(LineUser, line_user.id), datetime.now(UTC), limiter=runtime.limiter
            ).member_number
        except BindingRefused as refused:
            return refused.reason


def issue(runtime, shop) -> str:
    with transaction(runtime.sessions) as tx:
        member = tx.scalars(select(Member)).one()
        store = tx.get_one(Store, shop.store_id)
        return issue_bind_code(tx, member, store=store, staff=None, now=datetime.now(UTC)).code


def test_wrong_bind_codes_are_counted_by_the_limiter_per_line_user(runtime, session):
    shop = open_shop(runtime.sessions)
    make_member(runtime.sessions)
    guesser, other = make_line_user(runtime.sessions), make_line_user(runtime.sessions)
    code = issue(runtime, shop)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [redeem(runtime, wrong, guesser) for _ in range(5)]
    sixth = redeem(runtime, code, guesser)

    assert answers == [Reason.BIND_CODE_WRONG] * 4 + [Reason.BIND_CODE_TOO_MANY_TRIES]
    assert sixth == Reason.BIND_CODE_TOO_MANY_TRIES
    assert runtime.limiter.remaining(BIND_CODE_WRONG, guesser.line_user_id) == 0
    assert count(session, BindingAudit) == 0 and session.scalars(select(BindCode.used_at)).one() is None
    assert count(session, BindCodeFailure) == 0, "the old table is no longer written"
    assert redeem(runtime, code, other) == "M000001"
    assert runtime.limiter.remaining(BIND_CODE_WRONG, other.line_user_id) == 5, "the right code is not counted"


def test_ten_wrong_codes_at_once_from_one_line_user_are_only_five_guesses(runtime, session, sessions):
    shop = open_shop(runtime.sessions)
    make_member(runtime.sessions)
    guesser = make_line_user(runtime.sessions)
    code = issue(runtime, shop)
    guesses = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 11)]

    def guess(tx, i, all_have_read):
        all_have_read()
        try:
            user = tx.get_one(LineUser, guesser.id)
            redeem_bind_code(tx, guesses[i], user, datetime.now(UTC), limiter=runtime.limiter)
        except BindingRefused as refused:
            return refused.reason
        return "bound"

    answers = race(sessions, 10, guess)

    assert sorted(answers) == sorted([Reason.BIND_CODE_WRONG] * 4 + [Reason.BIND_CODE_TOO_MANY_TRIES] * 6), answers
    assert runtime.limiter.remaining(BIND_CODE_WRONG, guesser.line_user_id) == 0
    assert count(session, BindingAudit) == 0


def test_the_right_code_after_four_wrong_ones_still_binds(runtime):
    shop = open_shop(runtime.sessions)
    make_member(runtime.sessions)
    line_user = make_line_user(runtime.sessions)
    code = issue(runtime, shop)
    for _ in range(4):
        redeem(runtime, "abcdef", line_user)

    assert redeem(runtime, code, line_user) == "M000001"


# The join page


def open_join(client, settings, user: str) -> str:
    page = client.get(path_of(join_url(settings, user)))
    assert page.status_code == 200
    return text_of(page)


def post_join(client, page: str, **fields):
    form = {"t": field(page, "t"), "csrf_token": field(page, "csrf_token"), **fields}
    return client.post("/members/join", data=form)


def test_a_line_user_posting_the_join_form_too_often_is_refused_and_nothing_is_created(
    client, platform, settings, session
):
    user = friend(platform)
    page = open_join(client, settings, user)
    for _ in range(JOIN_PER_LINE_USER.amount):
        assert post_join(client, page, name="林怡君").status_code == 422  # no phone, no consent

    refused = post_join(client, page, **GOOD)

    assert refused.status_code == 429
    assert "送出次數太多，請過幾分鐘再試" in text_of(refused)
    assert "Too many attempts. Please wait a few minutes and try again." in text_of(refused)
    assert count(session, Member) == count(session, BindingAudit) == 0
    other = friend(platform, "王小明")
    assert post_join(client, open_join(client, settings, other), **GOOD).status_code == 200


def test_one_address_posting_the_join_form_too_often_is_refused_and_another_address_is_not(
    client, platform, settings, session
):
    for _ in range(JOIN_PER_IP.amount):
        assert client.post("/members/join", data={"t": "forged"}).status_code == 400
    user = friend(platform)
    page = open_join(client, settings, user)

    refused = post_join(client, page, **GOOD)

    assert refused.status_code == 429 and "送出次數太多" in text_of(refused)
    assert count(session, Member) == 0
    form = {"t": field(page, "t"), "csrf_token": field(page, "csrf_token"), **GOOD}
    elsewhere = client.post("/members/join", data=form, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 200 and 'id="verify"' in text_of(elsewhere), "on to the code step"


def test_behind_a_trusted_proxy_the_address_is_the_forwarded_one(settings, runtime, platform, session):
    proxied = replace(settings, trusted_proxy_hops=1)
    client = create_app(proxied, replace(runtime, settings=proxied)).test_client()
    for _ in range(JOIN_PER_IP.amount):
        client.post("/members/join", data={"t": "forged"}, headers={"X-Forwarded-For": "203.0.113.9"})
    page = open_join(client, settings, friend(platform))

    assert post_join(client, page, **GOOD).status_code == 200, "the proxy's own address is not limited"
    keys = storage_keys(runtime)
    assert not any("203.0.113" in key or "127.0.0.1" in key for key in keys)


# The POS API


@pytest.fixture
def pos(settings, runtime):
    """The app with a POS rate of 3 requests a minute per key, and a shop with a member."""
    slow = replace(settings, pos_rate_limit=Rule("pos-key", 3, 60))
    client = create_app(slow, replace(runtime, settings=slow)).test_client()
    shop = open_shop(runtime.sessions)
    make_member(runtime.sessions)
    return client, shop


def test_a_store_key_over_its_rate_gets_429_with_retry_after_and_changes_nothing(pos, runtime, session):
    client, shop = pos
    for _ in range(3):
        assert client.get("/api/v1/members/M000001", headers=shop.auth).status_code == 200

    refused = client.post("/api/v1/members/M000001/bind-codes", json={}, headers=shop.auth)

    assert refused.status_code == 429
    assert refused.get_json() == {
        "error": "rate_limited",
        "message": "此 API 金鑰的請求次數過多，請稍後再試",
        "message_en": "Too many requests with this API key; try again after the Retry-After seconds.",
    }
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert count(session, BindCode) == 0


def test_another_store_key_has_its_own_count(pos, runtime):
    client, shop = pos
    for _ in range(4):
        client.get("/api/v1/members/M000001", headers=shop.auth)
    from bot.services.staff.api_keys import create_api_key

    with transaction(runtime.sessions) as tx:
        _, other_key = create_api_key(tx, store_code="KHH01", name="POS 2", now=datetime.now(UTC))

    answer = client.get("/api/v1/members/M000001", headers={"Authorization": f"Bearer {other_key}"})

    assert answer.status_code == 200
    assert not any(shop.key in key or other_key in key for key in storage_keys(runtime))


def test_a_bad_key_is_401_not_counted(pos):
    client, shop = pos
    for _ in range(5):
        assert client.get("/api/v1/members/M000001", headers={"Authorization": "Bearer nope"}).status_code == 401

    assert client.get("/api/v1/members/M000001", headers=shop.auth).status_code == 200
