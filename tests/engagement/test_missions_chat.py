"""Missions in the chat through signed webhooks (the local LINE platform): 任務 shows progress and what is left, a
poll is answered once, and an invite code counts only for a friend who is new to the account and then joins."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from bot.services.membership.joining import JoinForm, join_with_line
from bot.services.membership.line_users import find_line_user
from models import InviteClaim, PointEntry, PollAnswer
from tests.binding_helpers import friend
from tests.factories import make_member
from tests.helpers import count, in_unit_of_work, texts
from tests.mission_helpers import TPE, buy, load_missions, mission_yaml, progress
from tests.pos import open_shop

POLL = mission_yaml(
    "POLL",
    "poll",
    reward="points: 5",
    extra="    question: 您最喜歡哪種麵包？\n    options: [可頌, 菠蘿, 吐司]\n",
)
INVITE = mission_yaml("INVITE", "invite", 1, reward="points: 100")


def _ask(platform, user, text: str = "任務") -> list[dict]:
    seen = len(platform.bot_messages(user))
    platform.send_text(user, text)
    return platform.bot_messages(user)[seen:]


def _tap(platform, user, data: str) -> list[dict]:
    seen = len(platform.bot_messages(user))
    platform.postback(user, data)
    return platform.bot_messages(user)[seen:]


def _bubbles(messages: list[dict]) -> dict[str, dict]:
    (message,) = messages
    assert message["type"] == "flex" and message["altText"] == "每日任務"
    return {bubble["header"]["contents"][0]["text"]: bubble for bubble in message["contents"]["contents"]}


def _join(runtime, user: str, phone: str) -> None:
    def work(uow):
        line_user = find_line_user(uow.session, user)
        form = JoinForm(name="新朋友", phone_e164=phone, birthday=None, marketing_opt_in=False)
        join_with_line(uow.session, line_user, form, now=uow.now, tz=uow.settings.tz)

    in_unit_of_work(runtime, work)


def _invite_code(platform, user) -> str:
    bubble = _bubbles(_ask(platform, user))["任務 INVITE"]
    (line,) = [text for text in texts([bubble]) if text.startswith("您的邀請碼：")]
    return line.removeprefix("您的邀請碼：")


def test_a_member_sees_each_running_mission_with_progress_and_what_is_left(platform, runtime, clock, session):
    clock.set(datetime(2026, 6, 3, 11, 0, tzinfo=TPE))
    shop = open_shop(runtime.sessions)
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    load_missions(
        runtime,
        mission_yaml("VISIT", "visit_store", 3, reward="points: 30"),
        mission_yaml("SPEND", "spend", 1000, repeat="weekly", reward="draw_plays: 2"),
        POLL,
    )
    in_unit_of_work(runtime, lambda uow: buy(uow, shop.store_id, member.id, 380))

    bubbles = _bubbles(_ask(platform, user))

    assert list(bubbles) == ["任務 VISIT", "任務 SPEND", "任務 POLL"]
    assert texts([bubbles["任務 VISIT"]])[1:] == [
        "已來店 1 / 3 次",
        "還差 2 次來店",
        "完成可得 30 點",
        "任務期限 2027-12-31",
    ]
    assert texts([bubbles["任務 SPEND"]])[1:] == [
        "已消費 NT$380 / NT$1,000",
        "還差 NT$620",
        "完成可得 2 次抽獎機會",
        "每週任務，本週期限 2026-06-07",
    ]
    bar = bubbles["任務 SPEND"]["body"]["contents"][1]["contents"][0]
    assert bar["width"] == "38%"
    assert bubbles["任務 VISIT"]["footer"]["contents"][0]["action"]["data"] == "action=barcode"
    options = [button["action"] for button in bubbles["任務 POLL"]["footer"]["contents"]]
    assert [(o["label"], o["data"]) for o in options] == [
        ("可頌", f"action=poll&mission={_id(session, 'POLL')}&option=0"),
        ("菠蘿", f"action=poll&mission={_id(session, 'POLL')}&option=1"),
        ("吐司", f"action=poll&mission={_id(session, 'POLL')}&option=2"),
    ]


def _id(session, code: str) -> int:
    from tests.mission_helpers import mission_id

    return mission_id(session, code)


def test_the_carousel_speaks_english_to_an_english_speaking_member(platform, runtime, clock):
    clock.set(datetime(2026, 6, 3, 11, 0, tzinfo=TPE))
    user = friend(platform, "Amy", language="en")
    make_member(runtime.sessions, bound_to=user)
    load_missions(runtime, mission_yaml("VISIT", "visit_store", 3))

    (message,) = _ask(platform, user, "tasks")

    assert message["altText"] == "Daily tasks"
    assert "Store visits: 0 / 3" in texts([message]) and "3 more store visit(s) to go" in texts([message])


def test_with_no_mission_running_the_member_is_told_so_and_a_guest_is_invited_to_join(platform, runtime, clock):
    clock.set(datetime(2026, 6, 3, 11, 0, tzinfo=TPE))
    load_missions(runtime, mission_yaml("OLD", "visit_store", 3, starts_on=date(2026, 1, 1), ends_on=date(2026, 5, 31)))
    member_user = friend(platform)
    make_member(runtime.sessions, bound_to=member_user)
    guest = friend(platform, "路人")

    assert texts(_ask(platform, member_user, "每日任務")) == ["目前沒有進行中的任務，有新任務時會在這裡通知您！"]
    (invitation,) = _tap(platform, guest, "action=tasks")
    labels = [button["action"]["label"] for button in invitation["contents"]["footer"]["contents"]]
    assert "加入會員" in labels
    assert not any("即將開放" in text for text in texts(platform.bot_messages(guest)))


def test_a_poll_is_answered_once_completes_the_mission_and_a_second_tap_changes_nothing(
    platform, runtime, clock, session
):
    clock.set(datetime(2026, 6, 3, 11, 0, tzinfo=TPE))
    user = friend(platform)
    member = make_member(runtime.sessions, bound_to=user)
    load_missions(runtime, POLL)
    poll = _id(session, "POLL")

    first = _tap(platform, user, f"action=poll&mission={poll}&option=1")
    second = _tap(platform, user, f"action=poll&mission={poll}&option=2")

    assert texts(first) == ["感謝您的回答！", "任務完成！「任務 POLL」\n已獲得 5 點，已存入您的點數。"]
    assert texts(second) == ["您已經回答過這題囉，感謝您的參與！"]
    answers = session.execute(select(PollAnswer.member_id, PollAnswer.option)).all()
    assert [tuple(answer) for answer in answers] == [(member.id, 1)]
    assert session.scalars(select(PointEntry.points).where(PointEntry.channel == "line_task")).all() == [5]
    bubble = _bubbles(_ask(platform, user))["任務 POLL"]
    assert "您的回答：菠蘿" in texts([bubble]) and "已完成 ✓" in texts([bubble]) and "footer" not in bubble


@pytest.mark.parametrize("data", ["action=poll&mission=999999&option=0", "action=poll&mission=x&option=0"])
def test_an_answer_to_no_running_poll_is_refused_kindly(platform, runtime, clock, session, data):
    clock.set(datetime(2026, 6, 3, 11, 0, tzinfo=TPE))
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)
    load_missions(runtime, POLL)

    replies = texts(_tap(platform, user, data))

    assert replies in (["這份問卷已經結束了，感謝您的參與！"], ["找不到這個選項，請從「每日任務」重新選擇。"])
    assert count(session, PollAnswer) == 0


def test_a_new_friend_who_sends_the_invite_code_and_joins_completes_the_inviters_mission(
    platform, runtime, clock, session
):
    clock.set(datetime.now(UTC))
    inviter_user = friend(platform, "王小明")
    inviter = make_member(runtime.sessions, name="王小明", bound_to=inviter_user)
    load_missions(runtime, INVITE)
    code = _invite_code(platform, inviter_user)
    bubble = _bubbles(_ask(platform, inviter_user))["任務 INVITE"]
    share = bubble["footer"]["contents"][0]["action"]["uri"]
    assert share.startswith("https://line.me/R/share?text=")
    assert f"https://line.me/R/oaMessage/%40000devline/?%E9%82%80%E8%AB%8B%E7%A2%BC%20{code}" in unquote(share)

    clock.advance(seconds=1)
    newcomer = friend(platform, "陳小華")
    (reply,) = _ask(platform, newcomer, f"邀請碼 {code}")
    assert reply["altText"] == "已收到 王小明 的邀請！"
    assert progress(session, inviter.id, "INVITE") == []  # not until the friend joins

    _join(runtime, newcomer, "+886911111111")

    assert [(value, done) for _start, value, done in progress(session, inviter.id, "INVITE")] == [(1, True)]
    pushed = [text for text in texts(platform.bot_messages(inviter_user)) if text.startswith("任務完成")]
    assert pushed == ["任務完成！「任務 INVITE」\n已獲得 100 點，已存入您的點數。"]


def test_a_friend_who_followed_before_the_invite_existed_earns_the_inviter_nothing(platform, runtime, clock, session):
    already = friend(platform, "老朋友")  # followed before the member made their invite code
    clock.set(datetime.now(UTC) + timedelta(seconds=1))
    inviter_user = friend(platform, "王小明")
    inviter = make_member(runtime.sessions, name="王小明", bound_to=inviter_user)
    load_missions(runtime, INVITE)
    code = _invite_code(platform, inviter_user)

    assert texts(_ask(platform, already, f"邀請碼 {code}")) == [
        "邀請碼限第一次加入好友的新朋友使用，謝謝您一直以來的支持！"
    ]
    _join(runtime, already, "+886922222222")

    assert [(value, done) for _start, value, done in progress(session, inviter.id, "INVITE")] == []
    assert count(session, InviteClaim) == 0


def test_a_friend_from_before_the_bot_or_one_who_unblocks_is_not_new(platform, runtime, clock, session):
    clock.set(datetime.now(UTC))
    inviter_user = friend(platform, "王小明")
    make_member(runtime.sessions, name="王小明", bound_to=inviter_user)
    load_missions(runtime, INVITE)
    code = _invite_code(platform, inviter_user)
    clock.advance(seconds=1)
    old_friend = platform.create_user("沒說過話的老朋友", friend=True)  # a friend with no follow event stored
    unblocking = platform.create_user("回來的朋友")
    platform.follow(unblocking, unblocked=True)

    for user in (old_friend, unblocking):
        assert texts(_ask(platform, user, f"邀請碼 {code}")) == [
            "邀請碼限第一次加入好友的新朋友使用，謝謝您一直以來的支持！"
        ]
    assert count(session, InviteClaim) == 0


def test_members_their_own_code_unknown_codes_and_a_second_code_are_turned_away(platform, runtime, clock, session):
    clock.set(datetime.now(UTC))
    inviter_user = friend(platform, "王小明")
    make_member(runtime.sessions, name="王小明", phone="+886933333333", bound_to=inviter_user)
    other_user = friend(platform, "李小姐")
    make_member(runtime.sessions, name="李小姐", phone="+886944444444", bound_to=other_user)
    load_missions(runtime, INVITE)
    code = _invite_code(platform, inviter_user)
    other_code = _invite_code(platform, other_user)
    clock.advance(seconds=1)
    newcomer = friend(platform, "陳小華")

    assert texts(_ask(platform, inviter_user, f"邀請碼 {code}")) == ["這是您自己的邀請碼，請分享給還沒加入的朋友！"]
    assert texts(_ask(platform, other_user, f"邀請碼 {code}")) == [
        "您已經是會員囉！邀請碼限新朋友使用，歡迎您也邀請朋友加入。"
    ]
    assert texts(_ask(platform, newcomer, "邀請碼 ZZZZZZ")) == ["找不到這個邀請碼，請確認後再傳一次。"]
    _ask(platform, newcomer, f"邀請碼 {code.lower()}")
    assert texts(_ask(platform, newcomer, f"邀請碼 {other_code}")) == ["您已經使用過邀請碼了，每位朋友只能使用一次。"]
    assert count(session, InviteClaim) == 1
    assert re.fullmatch(r"[A-Z2-9]{6}", code)


def test_the_demo_missions_show_in_english_for_an_english_speaking_member(platform, runtime, clock):
    from tests.engagement_helpers import seed

    clock.set(datetime(2026, 6, 3, 11, 0, tzinfo=TPE))
    seed(runtime, clock.now())
    user = friend(platform, "Amy", language="en")
    make_member(runtime.sessions, bound_to=user)

    (message,) = _ask(platform, user, "tasks")

    titles = [bubble["header"]["contents"][0]["text"] for bubble in message["contents"]["contents"]]
    assert titles == [
        "Visit a store this week",
        "Spend NT$1,000 this week",
        "Use a coupon",
        "Check in 5 days this week",
        "Invite a friend to join",
        "Quick poll",
    ]
    assert "When do you usually visit us?" in texts([message]) and 'Reward: "Latte: buy one, get one free"' in texts(
        [message]
    )
