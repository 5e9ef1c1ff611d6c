"""The console's coupon settings: who may open them, a validated edit kept as a version, issuing by hand to a
member (once per form) and to a segment."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.db import transaction
from models import Coupon, CouponTemplate, CouponTemplateVersion, Segment
from tests.admin_helpers import crew, send, sign_in
from tests.factories import make_member

FORM = {
    "name": "滿 500 折 80",
    "kind": "amount_off",
    "value": "80",
    "min_spend": "500",
    "valid_days_after_issue": "30",
    "is_active": "yes",
}


@pytest.fixture
def people(runtime: Any) -> dict[str, Any]:
    return crew(runtime.sessions)


@pytest.fixture
def template(runtime: Any) -> CouponTemplate:
    with transaction(runtime.sessions) as session:
        template = CouponTemplate(code="NT50OFF", name="滿 300 折 50", kind="amount_off", value=50, min_spend=300)
        session.add(template)
        session.flush()
        session.expunge(template)
    return template


@pytest.mark.parametrize(("who", "status"), [("marketer", 200), ("admin", 200), ("clerk", 403), ("manager", 403)])
def test_who_may_open_coupon_settings(
    client: Any, people: dict[str, Any], template: CouponTemplate, who: str, status: int
) -> None:
    sign_in(client, people[who].code)
    assert client.get("/staff/console/coupons").status_code == status
    assert client.get(f"/staff/console/coupons/{template.id}").status_code == status


def test_an_edit_is_validated_and_versioned(
    client: Any, session: Any, people: dict[str, Any], template: CouponTemplate
) -> None:
    sign_in(client, people["marketer"].code)
    path = f"/staff/console/coupons/{template.id}"
    bad = send(client, path, {**FORM, "value": "0"})
    assert bad.status_code == 400 and "折抵金額請填 1 到 100,000 元" in bad.get_data(as_text=True)
    assert session.get(CouponTemplate, template.id).value == 50
    assert send(client, path, FORM).status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "已儲存優惠券「滿 500 折 80」" in page
    saved = session.get(CouponTemplate, template.id)
    assert (saved.name, saved.value, saved.min_spend, saved.valid_days_after_issue) == ("滿 500 折 80", 80, 500, 30)
    versions = session.scalars(select(CouponTemplateVersion).order_by(CouponTemplateVersion.version)).all()
    assert [(v.version, v.staff_id) for v in versions] == [(1, None), (2, people["marketer"].id)]
    assert "行銷小組" in page and "原始設定" in page


def test_issue_by_hand_to_a_member_once_per_form(
    client: Any, runtime: Any, session: Any, people: dict[str, Any], template: CouponTemplate
) -> None:
    member = make_member(runtime.sessions)
    sign_in(client, people["marketer"].code)
    path = f"/staff/console/coupons/{template.id}"
    token = re.search(r'name="token" value="([0-9a-f]{32})"', client.get(path).get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    form = {"to": "member", "member_number": member.member_number, "token": token}
    assert send(client, f"{path}/issue", form).status_code == 302
    assert f"已發給會員 {member.member_number}" in client.get(path).get_data(as_text=True)
    assert send(client, f"{path}/issue", form).status_code == 302
    assert "沒有重複發送" in client.get(path).get_data(as_text=True)
    assert session.scalars(select(Coupon.member_id)).all() == [member.id]
    unknown = send(client, f"{path}/issue", {**form, "member_number": "M999999"})
    assert unknown.status_code == 400 and "找不到會員編號 M999999" in unknown.get_data(as_text=True)


def test_issue_by_hand_to_a_segment(
    client: Any, runtime: Any, session: Any, people: dict[str, Any], template: CouponTemplate
) -> None:
    gold = make_member(runtime.sessions, tier="gold", phone="+886912000001")
    make_member(runtime.sessions, tier="regular", phone="+886912000002")
    with transaction(runtime.sessions) as db:
        from datetime import UTC, datetime

        segment = Segment(name="金卡", definition={"type": "tier", "tiers": ["gold"]}, updated_at=datetime.now(UTC))
        db.add(segment)
        db.flush()
        segment_id = segment.id
    sign_in(client, people["marketer"].code)
    path = f"/staff/console/coupons/{template.id}"
    answer = send(client, f"{path}/issue", {"to": "segment", "segment_id": str(segment_id), "token": "a" * 32})
    assert answer.status_code == 302
    assert "已發出 1 張" in client.get(path).get_data(as_text=True)
    assert session.scalars(select(Coupon.member_id)).all() == [gold.id]
    bad = send(client, f"{path}/issue", {"to": "segment", "segment_id": "x", "token": "b" * 32})
    assert bad.status_code == 400 and "請選擇分群" in bad.get_data(as_text=True)
