"""One-time codes: 6 digits kept only as an HMAC, 5 minutes, 5 wrong tries, hourly limits per phone and LINE user."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.membership import line_users
from bot.services.membership.verification import (
    VerificationRefused,
    hash_code,
    request_code,
    verify_code,
)
from bot.services.refusals import Reason
from models import PhoneVerification
from tests.factories import make_member

CODE_DEAD, CODE_EXPIRED, CODE_FORMAT = Reason.SMS_CODE_DEAD, Reason.SMS_CODE_EXPIRED, Reason.SMS_CODE_FORMAT
CODE_UNKNOWN, CODE_USED, WRONG_CODE = Reason.SMS_CODE_UNKNOWN, Reason.SMS_CODE_USED, Reason.SMS_CODE_WRONG
TOO_MANY_FOR_PHONE, TOO_MANY_FOR_USER = Reason.TOO_MANY_CODES_FOR_PHONE, Reason.TOO_MANY_CODES_FOR_USER

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PHONE = "+886912345678"


@pytest.fixture
def codes(runtime, limiter_clock):
    """Requests and checks codes in their own transactions, as the bind page does, at a time the test picks (the
    rate limiter sees the request at that time too)."""

    class Codes:
        secret = runtime.settings.secret_key

        def user(self, line_user_id="U" + "a" * 32):
            with transaction(runtime.sessions) as session:
                return line_users.record_follow(session, line_user_id, at=T0)[0]

        def request(self, line_user, phone=PHONE, at=T0):
            limiter_clock.set(at)
            with transaction(runtime.sessions) as session:
                issued = request_code(
                    session,
                    secret_key=self.secret,
                    limiter=runtime.limiter,
                    line_user=line_user,
                    phone_e164=phone,
                    now=at,
                )
                return issued.verification.id, issued.code

        def verify(self, line_user, verification_id, code, at=T0):
            """The verification, or the refusal; a wrong try is committed, as the page commits it."""
            with transaction(runtime.sessions) as session:
                try:
                    return verify_code(
                        session,
                        secret_key=self.secret,
                        verification_id=verification_id,
                        line_user=line_user,
                        code=code,
                        now=at,
                    )
                except VerificationRefused as refused:
                    return refused

        def stored(self, verification_id):
            with runtime.sessions() as session:
                return session.get_one(PhoneVerification, verification_id)

    make_member(runtime.sessions, phone=PHONE)
    return Codes()


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_code_is_six_random_digits_and_only_its_hmac_is_stored(codes, runtime):
    verification_id, code = codes.request(codes.user())

    stored = codes.stored(verification_id)
    assert code is not None and len(code) == 6 and code.isdigit()
    assert stored.code_hash == hash_code(runtime.settings.secret_key, code) != code
    assert code not in repr(vars(stored))
    assert stored.expires_at == T0 + timedelta(minutes=5)


def test_the_right_code_within_five_minutes_verifies_the_phone(codes):
    shopper = codes.user()
    verification_id, code = codes.request(shopper)

    verified = codes.verify(shopper, verification_id, code, at=T0 + timedelta(minutes=4, seconds=59))

    assert isinstance(verified, PhoneVerification)
    assert verified.verified_at == T0 + timedelta(minutes=4, seconds=59)


def test_a_code_used_once_cannot_be_used_again(codes):
    shopper = codes.user()
    verification_id, code = codes.request(shopper)
    codes.verify(shopper, verification_id, code)

    again = codes.verify(shopper, verification_id, code)

    assert isinstance(again, VerificationRefused) and again.reason == CODE_USED


def test_a_code_is_dead_after_five_minutes(codes):
    shopper = codes.user()
    verification_id, code = codes.request(shopper)

    late = codes.verify(shopper, verification_id, code, at=T0 + timedelta(minutes=5))

    assert isinstance(late, VerificationRefused) and late.reason == CODE_EXPIRED
    assert codes.stored(verification_id).verified_at is None


def test_five_wrong_tries_kill_the_code_and_the_sixth_is_refused_even_when_right(codes):
    shopper = codes.user()
    verification_id, code = codes.request(shopper)

    tries = [codes.verify(shopper, verification_id, wrong(code)) for _ in range(5)]
    sixth = codes.verify(shopper, verification_id, code)

    assert [(t.reason, t.params) for t in tries] == [
        (WRONG_CODE, {"left": 4}),
        (WRONG_CODE, {"left": 3}),
        (WRONG_CODE, {"left": 2}),
        (WRONG_CODE, {"left": 1}),
        (CODE_DEAD, {}),
    ]
    assert isinstance(sixth, VerificationRefused) and sixth.reason == CODE_DEAD
    assert codes.stored(verification_id).failed_attempts == 5
    assert codes.stored(verification_id).verified_at is None


@pytest.mark.parametrize("typed", ["12345", "1234567", "abcdef", "１２３４５６", ""])
def test_something_that_is_not_six_digits_is_not_counted_as_a_try(codes, typed):
    shopper = codes.user()
    verification_id, _code = codes.request(shopper)

    refused = codes.verify(shopper, verification_id, typed)

    assert refused.reason == CODE_FORMAT
    assert codes.stored(verification_id).failed_attempts == 0


def test_another_line_users_code_is_refused_and_not_counted(codes):
    owner, other = codes.user("U" + "a" * 32), codes.user("U" + "b" * 32)
    verification_id, code = codes.request(owner)

    refused = codes.verify(other, verification_id, code)

    assert refused.reason == CODE_UNKNOWN
    assert codes.stored(verification_id).failed_attempts == 0
    assert codes.stored(verification_id).verified_at is None


def test_a_new_code_for_the_same_phone_supersedes_the_last(codes):
    shopper = codes.user()
    old_id, old_code = codes.request(shopper, at=T0)
    new_id, new_code = codes.request(shopper, at=T0 + timedelta(minutes=1))

    assert codes.verify(shopper, old_id, old_code, at=T0 + timedelta(minutes=2)).reason == CODE_EXPIRED
    assert isinstance(codes.verify(shopper, new_id, new_code, at=T0 + timedelta(minutes=2)), PhoneVerification)


def test_five_codes_per_phone_for_one_line_user_in_an_hour_then_it_waits(codes):
    stranger = codes.user("U" + "a" * 32)
    for minute in range(5):
        codes.request(stranger, at=T0 + timedelta(minutes=minute))

    with pytest.raises(VerificationRefused) as refused:
        codes.request(stranger, at=T0 + timedelta(minutes=59))
    assert refused.value.reason == TOO_MANY_FOR_PHONE
    assert codes.request(stranger, at=T0 + timedelta(minutes=60, seconds=1))[1] is not None


def test_one_stranger_using_up_a_phones_codes_does_not_lock_its_owner_out(codes):
    stranger, owner = codes.user("U" + "a" * 32), codes.user("U" + "b" * 32)
    for minute in range(5):
        codes.request(stranger, at=T0 + timedelta(minutes=minute))

    assert codes.request(owner, at=T0 + timedelta(minutes=6))[1] is not None


def test_fifteen_codes_per_phone_across_line_users_in_an_hour(codes):
    users = [codes.user("U" + f"{n:x}" * 32) for n in range(3)]
    for n in range(15):
        codes.request(users[n % 3], at=T0 + timedelta(minutes=n))

    with pytest.raises(VerificationRefused) as refused:
        codes.request(codes.user("U" + "f" * 32), at=T0 + timedelta(minutes=30))
    assert refused.value.reason == TOO_MANY_FOR_PHONE


def test_ten_codes_per_line_user_in_an_hour_whatever_the_phones(codes):
    shopper = codes.user()
    for n in range(10):
        codes.request(shopper, phone=f"+88691234{n:04d}", at=T0 + timedelta(minutes=n))

    with pytest.raises(VerificationRefused) as refused:
        codes.request(shopper, phone="+886987654321", at=T0 + timedelta(minutes=30))
    assert refused.value.reason == TOO_MANY_FOR_USER


def test_a_refused_request_stores_nothing(codes, runtime):
    shopper = codes.user()
    for minute in range(5):
        codes.request(shopper, at=T0 + timedelta(minutes=minute))

    with pytest.raises(VerificationRefused):
        codes.request(shopper, at=T0 + timedelta(minutes=6))

    with runtime.sessions() as session:
        assert len(session.scalars(select(PhoneVerification)).all()) == 5


def test_a_phone_that_is_no_members_gets_a_row_but_no_code_to_send(codes):
    verification_id, code = codes.request(codes.user(), phone="+886987654321")

    assert code is None
    assert codes.stored(verification_id).phone_e164 == "+886987654321"


def test_phone_numbers_never_reach_the_logs(codes, caplog):
    caplog.set_level(logging.DEBUG)
    shopper = codes.user()
    verification_id, code = codes.request(shopper)
    codes.verify(shopper, verification_id, wrong(code))
    for _ in range(4):
        codes.request(shopper)
    with pytest.raises(VerificationRefused):
        codes.request(shopper)

    assert "+886*****5678" in caplog.text
    assert "912345678" not in caplog.text
