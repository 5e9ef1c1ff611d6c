"""Membership in the chat: the invitation, the profile card, unbinding after confirming."""

from __future__ import annotations

from sqlalchemy import select

from models import BindingAudit, LineUser, LinkToken, Member
from tests.factories import make_member
from tests.helpers import texts
from tests.pos import open_shop


def _friend(platform, name="林怡君"):
    user = platform.create_user(name)
    platform.follow(user)
    return user, len(platform.bot_messages(user))


def _buttons(message):
    return {b["action"]["label"]: b["action"] for b in message["contents"]["footer"]["contents"]}


def test_a_guest_asking_to_bind_gets_the_join_page_and_the_account_link_page(platform, session, settings, client):
    user, seen = _friend(platform)

    platform.postback(user, "action=bind")

    (card,) = platform.bot_messages(user)[seen:]
    buttons = _buttons(card)
    assert buttons["加入會員"]["uri"].startswith(f"{settings.public_base_url}/members/join?t=")
    bind_start = buttons["綁定既有會員"]["uri"]
    assert bind_start.startswith(f"{settings.public_base_url}/members/bind/start?t=")
    assert "綁定 123456" in " ".join(texts([card]))
    # LINE's link token is asked for when the shopper opens the page, outside the event's transaction.
    assert session.scalars(select(LinkToken)).all() == []
    opened = client.get(bind_start.removeprefix(settings.public_base_url))
    assert opened.status_code == 303 and "/members/bind?t=" in opened.headers["Location"]
    link_token = session.scalars(select(LinkToken)).one()
    assert link_token.token in platform.link_tokens
    assert client.get(opened.headers["Location"]).status_code == 200


def test_a_member_sees_their_profile_with_number_tier_and_points(platform, runtime):
    user, seen = _friend(platform)
    member = make_member(runtime.sessions, bound_to=user)

    platform.send_text(user, "會員資料")

    shown = texts(platform.bot_messages(user)[seen:])
    assert "林怡君，您好" in shown
    assert member.member_number in shown
    assert "一般會員" in shown
    assert "0" in shown


def test_a_member_asking_to_bind_is_told_they_are_already_a_member(platform, runtime):
    user, seen = _friend(platform)
    make_member(runtime.sessions, bound_to=user)

    platform.postback(user, "action=bind")

    assert "您已經是會員了！" in texts(platform.bot_messages(user)[seen:])


def test_unbinding_asks_first_and_then_unbinds_with_an_audit_entry(platform, runtime, session):
    user, seen = _friend(platform)
    member = make_member(runtime.sessions, bound_to=user)

    platform.send_text(user, "解除綁定")
    question = platform.bot_messages(user)[seen]
    assert question["template"]["type"] == "confirm"
    assert session.get(Member, member.id).line_user_id is not None, "nothing changes before the shopper confirms"

    platform.postback(user, "action=unbind&confirm=yes")

    assert session.get(Member, member.id).line_user_id is None
    audit = session.scalars(select(BindingAudit).order_by(BindingAudit.id.desc())).first()
    assert (audit.action, audit.channel) == ("unbind", "chat")
    assert session.scalars(select(LineUser.rich_menu_state)).one() == "guest"
    assert "已解除綁定。您的點數與會員資料仍保留，隨時可以重新綁定。" in texts(platform.bot_messages(user))


def test_a_guest_cannot_unbind(platform):
    user, seen = _friend(platform)

    platform.postback(user, "action=unbind&confirm=yes")

    assert texts(platform.bot_messages(user)[seen:]) == ["您的 LINE 帳號尚未綁定會員。"]


def test_a_counter_bind_code_typed_in_the_chat_binds_the_member(platform, runtime, client, session):
    shop = open_shop(runtime.sessions)
    member = make_member(runtime.sessions)
    code = client.post(
        f"/api/v1/members/{member.member_number}/bind-codes", json={"staff_code": "C001"}, headers=shop.auth
    ).get_json()["code"]
    user, seen = _friend(platform)

    platform.send_text(user, f"綁定 {code}")

    assert session.get(Member, member.id).line_user_id is not None
    audit = session.scalars(select(BindingAudit)).one()
    assert (audit.channel, audit.staff_id, audit.store_id) == ("counter", shop.clerk_id, shop.store_id)
    assert f"綁定成功！歡迎 林怡君，會員編號 {member.member_number}。" in texts(platform.bot_messages(user)[seen:])


def test_a_wrong_counter_code_is_refused_in_the_chat_and_binds_nothing(platform, runtime, session):
    member = make_member(runtime.sessions)
    user, seen = _friend(platform)

    platform.send_text(user, "綁定 000000")

    assert session.get(Member, member.id).line_user_id is None
    assert texts(platform.bot_messages(user)[seen:]) == ["綁定碼不正確，請確認後再輸入"]
