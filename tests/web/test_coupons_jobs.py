"""The daily coupon jobs: birthday coupons once a year by tier, and one reminder three days before a coupon expires."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot import tasks
from bot.db import transaction
from bot.services.rewards.coupon_jobs import issue_birthday_coupons, remind_expiring_coupons
from bot.services.rewards.coupon_rules import seed_demo_coupons
from models import Coupon, CouponTemplate, LineUser, Member, OutboundMessage
from tests.binding_helpers import friend
from tests.coupon_helpers import T0, give, make_template
from tests.factories import make_member
from tests.helpers import in_unit_of_work, texts

TAIPEI = ZoneInfo("Asia/Taipei")


def _seed(runtime) -> None:
    with transaction(runtime.sessions) as tx:
        seed_demo_coupons(tx)


def _set_tier(runtime, member_id: int, tier: str) -> None:
    with transaction(runtime.sessions) as tx:
        tx.execute(update(Member).where(Member.id == member_id).values(tier=tier))


def _birthdays(runtime, at: datetime) -> tuple[int, list[int]]:
    issued, sent = in_unit_of_work(runtime, lambda uow: issue_birthday_coupons(uow.session, at, TAIPEI))
    return issued, sent.outbox_ids


def _coupons_by_template(session) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(Member.member_number, CouponTemplate.code, Coupon.source_key)
        .join(Coupon, Coupon.member_id == Member.id)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .order_by(Member.member_number)
    )
    return [tuple(row) for row in rows]


def test_silver_and_gold_members_get_their_birthday_coupon_once_a_year_on_the_brand_local_day(runtime, session):
    _seed(runtime)
    born_today = date(1990, 6, 1)
    silver = make_member(runtime.sessions, member_number="M000001", birthday=born_today)
    gold = make_member(runtime.sessions, member_number="M000002", phone="+886922333444", birthday=born_today)
    make_member(runtime.sessions, member_number="M000003", phone="+886933444555", birthday=born_today)  # regular: none
    make_member(runtime.sessions, member_number="M000004", phone="+886944555666", birthday=date(1990, 6, 2))
    _set_tier(runtime, silver.id, "silver")
    _set_tier(runtime, gold.id, "gold")
    taipei_morning = datetime(2025, 5, 31, 17, 0, tzinfo=UTC)  # 1 June, 01:00 in Taipei

    first = _birthdays(runtime, taipei_morning)
    again = _birthdays(runtime, taipei_morning + timedelta(hours=8))
    next_year = _birthdays(runtime, taipei_morning.replace(year=2026))

    assert (first[0], again[0], next_year[0]) == (2, 0, 2)
    assert first[1] == []  # nobody is bound to a LINE account: nothing to push
    assert _coupons_by_template(session) == [
        ("M000001", "BDAY-SILVER", f"birthday:{silver.id}:2025"),
        ("M000001", "BDAY-SILVER", f"birthday:{silver.id}:2026"),
        ("M000002", "BDAY-GOLD", f"birthday:{gold.id}:2025"),
        ("M000002", "BDAY-GOLD", f"birthday:{gold.id}:2026"),
    ]


def test_a_leap_day_birthday_is_celebrated_on_28_february_in_a_common_year(runtime, session):
    _seed(runtime)
    member = make_member(runtime.sessions, birthday=date(1996, 2, 29))
    _set_tier(runtime, member.id, "silver")

    assert _birthdays(runtime, datetime(2025, 2, 28, 3, tzinfo=UTC))[0] == 1
    assert _birthdays(runtime, datetime(2028, 2, 28, 3, tzinfo=UTC))[0] == 0
    assert _birthdays(runtime, datetime(2028, 2, 29, 3, tzinfo=UTC))[0] == 1


def test_the_daily_task_pushes_the_birthday_coupon_to_a_bound_member(platform, runtime):
    _seed(runtime)
    user = friend(platform, "林怡君")
    today = datetime.now(UTC).astimezone(TAIPEI).date()
    member = make_member(runtime.sessions, bound_to=user, birthday=today.replace(year=1992))
    _set_tier(runtime, member.id, "gold")
    seen = len(platform.bot_messages(user))

    tasks.issue_birthday_coupons.call_local()

    greeting, card = platform.bot_messages(user)[seen:]
    assert greeting["text"] == "生日快樂，林怡君！送您一張生日禮「金卡生日禮：6 吋蛋糕」，祝您有美好的一天！"
    assert texts([card])[:2] == ["金卡生日禮：6 吋蛋糕", "免費兌換 6 吋生日蛋糕"]


def test_one_reminder_three_days_before_a_coupon_expires_for_bound_unblocked_members(platform, runtime, session):
    user = friend(platform, "林怡君")
    member = make_member(runtime.sessions, bound_to=user)
    blocked_user = friend(platform, "阿明")
    blocked = make_member(runtime.sessions, bound_to=blocked_user, phone="+886922333444")
    with transaction(runtime.sessions) as tx:
        tx.execute(update(LineUser).where(LineUser.line_user_id == blocked_user).values(is_blocked=True))
    three_days = make_template(runtime.sessions, valid_days_after_issue=3)
    four_days = make_template(runtime.sessions, "LATER", valid_days_after_issue=4)
    due, _ = give(runtime.sessions, member, three_days, "due")
    give(runtime.sessions, member, four_days, "later")
    give(runtime.sessions, blocked, three_days, "blocked")

    def remind(at: datetime) -> int:
        return in_unit_of_work(runtime, lambda uow: remind_expiring_coupons(uow.session, at, TAIPEI))[0]

    today, same_day_again = remind(T0), remind(T0 + timedelta(hours=2))
    tomorrow, tomorrow_again = remind(T0 + timedelta(days=1)), remind(T0 + timedelta(days=1, hours=5))

    assert (today, same_day_again, tomorrow, tomorrow_again) == (1, 0, 1, 0)
    pushes = select(OutboundMessage).where(OutboundMessage.kind == "push").order_by(OutboundMessage.id)
    first, second = session.scalars(pushes).all()
    assert first.recipients == second.recipients == [user]
    assert first.messages[0] == {"type": "text", "text": "您的優惠券「滿 300 折 50」將於 2025-06-04 到期"}
    assert "滿 300 折 50" in texts(first.messages[1:])
    assert second.messages[0]["text"] == "您的優惠券「滿 300 折 50」將於 2025-06-05 到期"
    assert session.get(Coupon, due.id).expires_at == T0 + timedelta(days=3)
