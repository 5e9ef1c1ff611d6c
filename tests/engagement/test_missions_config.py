"""The `missions` section of the engagement YAML: validated with errors naming their line, stored in the database,
and loading the same file twice changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.db import transaction
from bot.services.engagement.yaml_nodes import ConfigError
from models import Mission, MissionProgress
from tests.coupon_helpers import make_template
from tests.engagement_helpers import load
from tests.factories import make_member
from tests.helpers import count

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

FILE = """\
missions:
  - code: WEEKLY-VISIT
    title: 本週到門市逛逛
    description: 在任一門市結帳時出示會員條碼
    kind: visit_store
    target: 1
    starts_on: 2026-12-01
    ends_on: 2027-03-31
    repeat: weekly
    reward:
      points: 20
  - code: BREAD-COUPON
    title: 使用麵包兌換券
    kind: redeem_coupon
    target: 1
    starts_on: 2026-12-01
    ends_on: 2026-12-31
    coupon: FREEBREAD
    reward:
      coupon: THANKS
  - code: POLL
    title: 小問卷
    kind: poll
    starts_on: 2026-12-01
    ends_on: 2026-12-31
    question: 您最喜歡哪種麵包？
    options: [可頌, 菠蘿]
    reward:
      draw_plays: 1
"""


@pytest.fixture(autouse=True)
def templates(runtime):
    make_template(runtime.sessions, "FREEBREAD", name="招牌麵包兌換券")
    make_template(runtime.sessions, "THANKS", name="感謝券")


def test_the_section_is_stored_and_loading_it_again_changes_nothing(runtime, session):
    first = load(runtime, FILE, AT)
    again = load(runtime, FILE, AT)

    assert first.changed == {"missions": 3} and again.changed == {"missions": 0}
    missions = {m.code: m for m in session.scalars(select(Mission))}
    visit = missions["WEEKLY-VISIT"]
    assert (visit.kind, visit.target, visit.repeat, visit.reward_points, visit.is_active) == (
        "visit_store",
        1,
        "weekly",
        20,
        True,
    )
    assert (visit.starts_on, visit.ends_on, visit.sort_order) == (date(2026, 12, 1), date(2027, 3, 31), 0)
    bread = missions["BREAD-COUPON"]
    assert bread.coupon_template_id is not None and bread.reward_coupon_template_id is not None
    poll = missions["POLL"]
    assert (poll.target, poll.poll_question, poll.poll_options, poll.reward_plays) == (
        1,
        "您最喜歡哪種麵包？",
        ["可頌", "菠蘿"],
        1,
    )


def test_a_mission_left_out_is_switched_off_and_a_changed_target_is_stored(runtime, session):
    load(runtime, FILE, AT)
    poll_part = FILE[FILE.index("  - code: POLL") :]
    edited = FILE.replace(poll_part, "").replace(
        "    target: 1\n    starts_on: 2026-12-01\n    ends_on: 2027",
        "    target: 2\n    starts_on: 2026-12-01\n    ends_on: 2027",
    )

    report = load(runtime, edited, AT)

    assert report.changed == {"missions": 2}
    missions = {m.code: m for m in session.scalars(select(Mission))}
    assert not missions["POLL"].is_active and missions["WEEKLY-VISIT"].target == 2


def test_a_mission_with_progress_cannot_change_its_kind(runtime, session):
    load(runtime, FILE, AT)
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        mission = tx.scalars(select(Mission).where(Mission.code == "WEEKLY-VISIT")).one()
        tx.add(
            MissionProgress(
                mission_id=mission.id, member_id=member.id, period_start=date(2026, 11, 30), value=1, updated_at=AT
            )
        )

    with pytest.raises(ConfigError) as raised:
        load(runtime, FILE.replace("kind: visit_store", "kind: spend"), AT)

    assert raised.value.line == 2 and "不能改成另一種 kind" in raised.value.message


def _item(**fields: str) -> str:
    values = {
        "code": "M1",
        "title": "任務",
        "kind": "spend",
        "target": "1000",
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-31",
        "reward": "{points: 10}",
        **fields,
    }
    return "missions:\n  - " + "\n    ".join(f"{key}: {value}" for key, value in values.items() if value != "-") + "\n"


@pytest.mark.parametrize(
    ("yaml_text", "line", "words"),
    [
        (_item(kind="shout"), 4, "kind"),
        (_item(target="-"), 2, "缺少「target」"),
        (_item(target="0"), 5, "介於 1"),
        (_item(ends_on="2026-11-30"), 7, "不可以早於"),
        (_item(starts_on="2026-13-01"), 6, "日期"),
        (_item(reward="{points: 10, coupon: THANKS}"), 8, "一種獎勵"),
        (_item(reward="{coupon: NOPE}"), 8, "找不到優惠券範本「NOPE」"),
        (_item(repeat="daily"), 9, "repeat"),
        (_item(coupon="FREEBREAD"), 9, "redeem_coupon"),
        (_item(kind="poll", target="-"), 2, "question 與 options"),
        (_item(kind="poll", target="-", question="Q", options="[only]"), 9, "2 到 4"),
        (_item(question="Q"), 9, "只用在 kind: poll"),
        (_item(colour="red"), 9, "沒有「colour」"),
        (_item() + _item().removeprefix("missions:\n"), 9, "重複"),
    ],
)
def test_a_wrong_mission_names_the_line_and_stores_nothing(runtime, session, yaml_text, line, words):
    with pytest.raises(ConfigError) as raised:
        load(runtime, yaml_text, AT)

    assert raised.value.line == line, raised.value
    assert words in raised.value.message
    assert count(session, Mission) == 0
