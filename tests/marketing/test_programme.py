"""Coupon template settings on the console: validation, the version history, and issuing by hand to one member or
a segment (once per form, within the template's limits, the chat told only where marketing may reach)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services.marketing.programme import (
    MAX_HAND_ISSUE,
    SettingsError,
    TemplateSettings,
    issue_to_member,
    issue_to_segment,
    settings_of,
    update_template,
    versions_of,
)
from bot.services.rewards.coupons import CouponRefused
from models import Consent, Coupon, CouponTemplate, LineUser, Member, Segment, Staff

TZ = ZoneInfo("Asia/Taipei")
AT = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
TOKEN = "0123456789abcdef0123456789abcdef"
FORM = {
    "name": "滿 300 折 50",
    "kind": "amount_off",
    "value": "50",
    "item": "",
    "min_spend": "300",
    "valid_from": "",
    "valid_until": "",
    "valid_days_after_issue": "60",
    "total_limit": "",
    "per_member_limit": "1",
    "is_active": "yes",
}


@pytest.fixture
def session(runtime: Any) -> Iterator[Session]:
    """A session in one transaction (the hand issue uses savepoints), rolled back at the end."""
    with runtime.sessions() as db, db.begin():
        yield db
        db.rollback()


@pytest.fixture
def setup(session: Session) -> dict[str, Any]:
    marketer = Staff(code="K1", name="行銷", role="marketer", is_active=True)
    template = CouponTemplate(code="NT50OFF", name="舊名", kind="amount_off", value=30, created_at=AT)
    session.add_all([marketer, template])
    session.flush()
    return {"marketer": marketer, "template": template}


def _member(session: Session, number: str, *, reachable: bool, tier: str = "gold") -> Member:
    line_user = LineUser(line_user_id=f"U{number:0>32}") if reachable else None
    if line_user:
        session.add(line_user)
        session.flush()
    member = Member(member_number=number, name="客人", tier=tier, line_user_id=line_user.id if line_user else None)
    session.add(member)
    session.flush()
    session.add(
        Consent(member_id=member.id, terms_version="1", privacy_version="1", marketing_opt_in=True, channel="line")
    )
    session.flush()
    return member


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"kind": "cashback"}, "kind"),
        ({"value": "0"}, "value"),
        ({"kind": "percent_off", "value": "100"}, "value"),
        ({"kind": "free_item", "item": ""}, "item"),
        ({"min_spend": "-5"}, "min_spend"),
        ({"valid_from": "2026-07-01", "valid_until": "2026-06-01"}, "valid_until"),
        ({"valid_from": "2026-02-30"}, "valid_from"),
        ({"valid_days_after_issue": "0"}, "valid_days_after_issue"),
        ({"total_limit": "abc"}, "total_limit"),
        ({"per_member_limit": "5000"}, "per_member_limit"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(change: dict[str, str], field: str) -> None:
    with pytest.raises(SettingsError) as refused:
        TemplateSettings.from_form({**FORM, **change})
    assert refused.value.field == field


def test_edits_are_versioned_with_who_and_when(session: Session, setup: dict[str, Any]) -> None:
    template, marketer = setup["template"], setup["marketer"]
    new = TemplateSettings.from_form({**FORM, "valid_from": "2026-07-01", "valid_until": "2026-07-31"})
    assert update_template(session, marketer, template, new, AT, TZ) is True
    assert template.name == "滿 300 折 50" and template.value == 50 and template.per_member_limit == 1
    # The window is brand-local: from 7-01 00:00 to the end of 7-31 in Taipei.
    assert template.valid_from == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert template.valid_until == datetime(2026, 7, 31, 16, 0, tzinfo=UTC)
    assert settings_of(template, TZ)["valid_until"] == "2026-07-31"
    # Saving the same again is no new version.
    assert update_template(session, marketer, template, new, AT, TZ) is False
    versions = versions_of(session, template)
    assert [(v.version, v.staff_id, v.settings["name"]) for v in versions] == [
        (2, marketer.id, "滿 300 折 50"),
        (1, None, "舊名"),
    ]


def test_total_limit_cannot_go_below_what_was_issued(session: Session, setup: dict[str, Any]) -> None:
    template = setup["template"]
    template.issued_count = 5
    session.flush()
    with pytest.raises(SettingsError) as refused:
        update_template(
            session, setup["marketer"], template, TemplateSettings.from_form({**FORM, "total_limit": "4"}), AT, TZ
        )
    assert refused.value.params == {"issued": 5}


def test_issue_to_one_member_once_per_form(session: Session, setup: dict[str, Any]) -> None:
    member = _member(session, "M000001", reachable=True)
    coupon, new = issue_to_member(session, setup["marketer"], setup["template"], " m000001 ", TOKEN, AT)
    again, new_again = issue_to_member(session, setup["marketer"], setup["template"], "M000001", TOKEN, AT)
    assert new and not new_again and again.id == coupon.id and coupon.member_id == member.id
    assert coupon.source == "manual"
    with pytest.raises(SettingsError):
        issue_to_member(session, setup["marketer"], setup["template"], "M999999", TOKEN, AT)
    with pytest.raises(SettingsError):
        issue_to_member(session, setup["marketer"], setup["template"], "M000001", "not-a-token", AT)
    setup["template"].is_active = False
    with pytest.raises(CouponRefused):
        issue_to_member(session, setup["marketer"], setup["template"], "M000001", "f" * 32, AT)


def test_issue_to_a_segment_within_the_limits(session: Session, setup: dict[str, Any]) -> None:
    template = setup["template"]
    template.total_limit = 3
    template.per_member_limit = 1
    first = _member(session, "M000001", reachable=True)
    _member(session, "M000002", reachable=False)
    _member(session, "M000003", reachable=True)
    _member(session, "M000004", reachable=True)
    _member(session, "M000005", reachable=True, tier="regular")
    session.add(
        Coupon(
            template_id=template.id, member_id=first.id, code="CPX", source="manual", source_key="old", valid_from=AT
        )
    )
    template.issued_count = 1
    segment = Segment(name="金卡", definition={"type": "tier", "tiers": ["gold"]}, updated_at=AT)
    session.add(segment)
    session.flush()

    result = issue_to_segment(session, setup["marketer"], template, segment, TOKEN, AT, TZ)
    # M000001 holds one already (per-member limit 1); M000002 and M000003 get one; then the total of 3 is reached.
    assert (result.issued, result.refused, result.sold_out) == (2, 1, True)
    assert session.scalar(select(func.count(Coupon.id))) == 3
    again = issue_to_segment(session, setup["marketer"], template, segment, TOKEN, AT, TZ)
    assert again.issued == 0 and again.already == 2


def test_too_big_a_segment_is_refused(session: Session, setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.services.marketing.programme as programme

    monkeypatch.setattr(programme, "MAX_HAND_ISSUE", 1)
    _member(session, "M000001", reachable=True)
    _member(session, "M000002", reachable=True)
    segment = Segment(name="金卡", definition={"type": "tier", "tiers": ["gold"]}, updated_at=AT)
    session.add(segment)
    session.flush()
    with pytest.raises(SettingsError) as refused:
        issue_to_segment(session, setup["marketer"], setup["template"], segment, TOKEN, AT, TZ)
    assert refused.value.params == {"count": 2, "limit": 1}
    assert session.scalar(select(func.count(Coupon.id))) == 0
    assert MAX_HAND_ISSUE == 1000
