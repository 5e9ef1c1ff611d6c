"""Coupon rules: the refusal a coupon gets, what its code looks like, when a coupon issued from a template is valid,
and the demo templates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.refusals import Refused
from models import CouponTemplate

CODE_PREFIX = "CP"
CODE_DIGITS = 12
# The coupons.code column; what is longer cannot be a coupon code.
CODE_LENGTH = 32


class CouponRefused(Refused):
    """A coupon cannot be issued, redeemed, undone or voided (the `coupon_*` reasons; `min_spend` carries the
    amount as `min_spend`)."""


def normalise_code(code: str) -> str:
    """What a scanner or a person typed, as stored: upper case, without spaces or dashes ("" for what cannot be
    a coupon code: other characters, or too long)."""
    code = re.sub(r"[\s-]", "", code).upper()
    return code if code.isascii() and code.isalnum() and len(code) <= CODE_LENGTH else ""


@dataclass(frozen=True)
class DemoTemplate:
    code: str
    name: str
    kind: str
    value: int = 0
    item: str | None = None
    min_spend: int = 0
    valid_days_after_issue: int | None = 30


# The stamp card's reward, a shop-wide offer, and the birthday benefits of the silver and gold tiers
# (bot.services.rewards.tiers names them).
DEMO_TEMPLATES = (
    DemoTemplate("FREEBREAD", "招牌麵包兌換券", "free_item", item="招牌麵包"),
    DemoTemplate("NT50OFF", "滿 300 折 50", "amount_off", value=50, min_spend=300, valid_days_after_issue=60),
    DemoTemplate("BDAY-SILVER", "銀卡生日禮：折 100 元", "amount_off", value=100, min_spend=200),
    DemoTemplate("BDAY-GOLD", "金卡生日禮：6 吋蛋糕", "free_item", item="6 吋生日蛋糕"),
    DemoTemplate("BOGO-LATTE", "拿鐵買一送一", "bogo", item="拿鐵", valid_days_after_issue=14),
)


def validity(template: CouponTemplate, at: datetime) -> tuple[datetime, datetime | None]:
    """When a coupon issued at `at` starts and stops working: the template's fixed window and/or its number of
    days after issue; when both are set the earlier end wins. No end: `None`."""
    valid_from = max(at, template.valid_from) if template.valid_from else at
    ends = [template.valid_until] if template.valid_until is not None else []
    if template.valid_days_after_issue is not None:
        ends.append(at + timedelta(days=template.valid_days_after_issue))
    return valid_from, min(ends) if ends else None


def template_by_code(session: Session, code: str) -> CouponTemplate | None:
    """The template with this code (e.g. "FREEBREAD")."""
    return session.scalars(select(CouponTemplate).where(CouponTemplate.code == code)).one_or_none()


def seed_demo_coupons(session: Session) -> int:
    """Add the demo coupon templates that are missing (FREEBREAD, NT50OFF, BDAY-SILVER, BDAY-GOLD, BOGO-LATTE);
    returns how many were added."""
    added = 0
    for demo in DEMO_TEMPLATES:
        if template_by_code(session, demo.code) is not None:
            continue
        session.add(
            CouponTemplate(
                code=demo.code,
                name=demo.name,
                kind=demo.kind,
                value=demo.value,
                item=demo.item,
                min_spend=demo.min_spend,
                valid_days_after_issue=demo.valid_days_after_issue,
            )
        )
        added += 1
    session.flush()
    return added
