"""The account-link service's own rules: which link tokens open the bind page, whom a nonce may bind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db import transaction
from bot.services.membership import line_users
from bot.services.membership.account_link import (
    AccountLinkRefused,
    check_link_token,
    complete_account_link,
    record_link_token,
    start_account_link,
)
from bot.services.membership.members import find_by_phone
from bot.services.refusals import Reason
from models import LinkToken, PhoneVerification
from tests.factories import make_member

ALREADY_BOUND, NOT_VERIFIED = Reason.LINE_USER_ALREADY_BOUND, Reason.PHONE_NOT_VERIFIED
LINK_TOKEN_SPENT, LINK_TOKEN_UNKNOWN = Reason.LINK_TOKEN_SPENT, Reason.LINK_TOKEN_UNKNOWN
MEMBER_ERASED, MEMBER_TAKEN = Reason.MEMBER_ERASED_CANNOT_BIND, Reason.MEMBER_BOUND_ELSEWHERE
NO_SUCH_MEMBER = Reason.NO_MEMBER_WITH_PHONE

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ALICE, BOB = "U" + "a" * 32, "U" + "b" * 32


@pytest.fixture
def tx(runtime):
    with transaction(runtime.sessions) as session:
        for user in (ALICE, BOB):
            line_users.record_follow(session, user, at=T0)
    with transaction(runtime.sessions) as session:
        yield session


def user(session, line_user_id):
    return line_users.find_line_user(session, line_user_id)


def verified(session, line_user_id, phone="+886912345678"):
    row = PhoneVerification(
        phone_e164=phone,
        line_user_id=user(session, line_user_id).id,
        code_hash="0" * 64,
        expires_at=T0 + timedelta(minutes=5),
        verified_at=T0,
    )
    session.add(row)
    session.flush()
    return row


def refusal(call) -> Reason:
    with pytest.raises(AccountLinkRefused) as refused:
        call()
    return refused.value.reason


def test_a_link_token_is_good_for_ten_minutes_for_its_own_line_user_only(tx):
    record_link_token(tx, user(tx, ALICE), "token-1", T0)

    assert isinstance(check_link_token(tx, user(tx, ALICE), "token-1", T0 + timedelta(minutes=9)), LinkToken)
    assert refusal(lambda: check_link_token(tx, user(tx, ALICE), "token-1", T0 + timedelta(minutes=10))) == (
        LINK_TOKEN_SPENT
    )
    assert refusal(lambda: check_link_token(tx, user(tx, BOB), "token-1", T0)) == LINK_TOKEN_UNKNOWN
    assert refusal(lambda: check_link_token(tx, user(tx, ALICE), "never-issued", T0)) == LINK_TOKEN_UNKNOWN


def test_a_nonce_is_only_made_after_this_line_user_verified_the_phone(runtime, tx):
    make_member(runtime.sessions)
    bobs = verified(tx, BOB)
    unverified = verified(tx, ALICE)
    unverified.verified_at = None

    assert refusal(lambda: start_account_link(tx, user(tx, ALICE), bobs, T0)) == NOT_VERIFIED
    assert refusal(lambda: start_account_link(tx, user(tx, ALICE), unverified, T0)) == NOT_VERIFIED


def test_no_nonce_for_a_phone_without_a_member_an_erased_member_or_one_bound_elsewhere(runtime, tx):
    make_member(runtime.sessions, phone="+886911111111", bound_to=BOB)
    make_member(runtime.sessions, phone="+886922222222")
    erased = find_by_phone(tx, "+886922222222")
    erased.erased_at = T0

    assert refusal(lambda: start_account_link(tx, user(tx, ALICE), verified(tx, ALICE), T0)) == NO_SUCH_MEMBER
    taken = verified(tx, ALICE, "+886911111111")
    assert refusal(lambda: start_account_link(tx, user(tx, ALICE), taken, T0)) == MEMBER_TAKEN
    gone = verified(tx, ALICE, "+886922222222")
    assert refusal(lambda: start_account_link(tx, user(tx, ALICE), gone, T0)) == MEMBER_ERASED
    assert refusal(lambda: start_account_link(tx, user(tx, BOB), verified(tx, BOB, "+886933333333"), T0)) == (
        ALREADY_BOUND
    )


def test_a_nonce_binds_once_and_spends_the_link_tokens_issued_before(runtime, tx):
    member = make_member(runtime.sessions)
    record_link_token(tx, user(tx, ALICE), "token-1", T0)
    nonce = start_account_link(tx, user(tx, ALICE), verified(tx, ALICE), T0).nonce

    bound = complete_account_link(tx, ALICE, nonce, "ok", T0 + timedelta(minutes=1))

    assert bound.id == member.id and bound.line_user_id == user(tx, ALICE).id
    assert refusal(lambda: check_link_token(tx, user(tx, ALICE), "token-1", T0 + timedelta(minutes=2))) == (
        ALREADY_BOUND
    )
