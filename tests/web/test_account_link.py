"""An existing member binds their LINE account: the SMS-verified bind page sends them to LINE's account-link
dialog, and LINE's accountLink event binds, once, and only for the LINE user the nonce was made for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import AccountLinkNonce, BindingAudit
from tests.binding_helpers import (
    Shopper,
    bound_line_user_id,
    fetch,
    line_user_pk,
    nonce_of,
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


def test_a_member_binds_with_a_texted_code_and_lines_account_link_dialog(shopper, member, app, session, base_url):
    opened = shopper.open()
    sent = shopper.ask_code("0912 345 678")
    (code,) = sms_codes(app, PHONE)
    redirect = shopper.enter(code)

    assert opened.status_code == 200 and "綁定既有會員" in text_of(opened)
    assert sent.status_code == 200 and "如果此號碼是會員，您會收到簡訊驗證碼" in shopper.page
    assert "+886*****5678" in shopper.page
    assert app.extensions["sms"].messages() == [
        (PHONE, f"【OMO 烘焙坊】您的會員綁定驗證碼為 {code}，5 分鐘內有效。請勿提供給他人。")
    ]
    assert redirect.status_code == 302
    dialog = redirect.headers["Location"]
    assert dialog.startswith(f"{base_url}/dev/line/dialog/bot/accountLink?linkToken=")
    nonce = session.scalars(select(AccountLinkNonce)).one()
    assert nonce_of(redirect) == nonce.nonce and len(nonce.nonce) >= 40 and nonce.member_id == member.id
    assert nonce.used_at is None, "nothing is bound before LINE's event arrives"

    status, dialog_page = fetch(dialog)

    assert status == 200 and "帳號連結完成" in dialog_page
    assert wait_for(lambda: bound_line_user_id(session, member.id)) == line_user_pk(session, shopper.user)
    audit = session.scalars(select(BindingAudit)).one()
    assert (audit.member_id, audit.action, audit.channel) == (member.id, "bind", "account_link")
    assert session.scalars(select(AccountLinkNonce.used_at)).one() is not None
    assert wait_for(lambda: f"LINE 帳號已與會員綁定完成！會員編號：{member.member_number}" in shopper.chat())


def test_a_replayed_nonce_changes_nothing(shopper, member, app, platform, session):
    shopper.ask_code()
    redirect = shopper.enter(sms_codes(app, PHONE)[0])
    fetch(redirect.headers["Location"])
    assert wait_for(lambda: any("綁定完成" in text for text in shopper.chat()))

    platform.account_link(shopper.user, nonce_of(redirect))

    assert "這次的綁定已經完成過，請勿重複使用" in shopper.chat()[-1]
    assert count(session, BindingAudit) == 1


def test_another_line_user_cannot_use_a_members_nonce(app, runtime, platform, member, session):
    victim, attacker = Shopper(app, runtime, platform, "阿美"), Shopper(app, runtime, platform, "阿壞")
    victim.ask_code()
    redirect = victim.enter(sms_codes(app, PHONE)[0])

    platform.account_link(attacker.user, nonce_of(redirect))

    assert "這次的綁定不屬於您的 LINE 帳號，會員資料沒有變更" in attacker.chat()[-1]
    assert bound_line_user_id(session, member.id) is None
    assert count(session, BindingAudit) == 0
    assert session.scalars(select(AccountLinkNonce.used_at)).one() is None


def test_a_nonce_older_than_ten_minutes_is_refused(shopper, member, app, platform, session):
    shopper.ask_code()
    redirect = shopper.enter(sms_codes(app, PHONE)[0])
    later = datetime.now(UTC) + timedelta(minutes=10, seconds=1)
    platform.clock = lambda: later

    platform.account_link(shopper.user, nonce_of(redirect))

    assert "綁定已逾時（10 分鐘），請重新綁定" in shopper.chat()[-1]
    assert bound_line_user_id(session, member.id) is None


def test_a_failed_link_is_explained_and_changes_nothing(shopper, member, app, platform, session):
    shopper.ask_code()
    redirect = shopper.enter(sms_codes(app, PHONE)[0])

    platform.account_link(shopper.user, nonce_of(redirect), result="failed")

    assert "LINE 帳號連結沒有完成，會員資料沒有變更。請回到聊天室再試一次。" in shopper.chat()[-1]
    assert bound_line_user_id(session, member.id) is None
    assert session.scalars(select(AccountLinkNonce.used_at)).one() is None


def test_an_unknown_nonce_is_refused(shopper, member, platform, session):
    platform.account_link(shopper.user, "n" * 43)

    assert "找不到這次的綁定紀錄，請重新綁定" in shopper.chat()[-1]
    assert count(session, BindingAudit) == 0
