"""What a stamp card looks like from outside: the progress the POS is answered with and the card a member sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from bot.services.rewards.stamp_cards import active_templates, cards_for
from models import Coupon, CouponTemplate, StampCard, StampCardTemplate


@dataclass(frozen=True)
class CardView:
    """One card as the member sees it."""

    card_id: int
    name: str
    rule: str
    amount_per_stamp: int | None
    stamps: int
    stamps_to_fill: int
    # The last brand-local day the card works (None: never, or not yet stamped: see valid_days).
    last_day: date | None
    # How many days a card works from its first stamp (None: forever).
    valid_days: int | None
    # The reward coupon's name (None: the card gives none).
    reward: str | None


def view_of(session: Session, card: StampCard, template: StampCardTemplate, tz: tzinfo) -> CardView:
    """The member's view of one card."""
    reward_id = template.reward_coupon_template_id
    reward = session.get(CouponTemplate, reward_id) if reward_id is not None else None
    last_day = (card.expires_at - timedelta(microseconds=1)).astimezone(tz).date() if card.expires_at else None
    return CardView(
        card_id=card.id,
        name=template.name,
        rule=template.rule,
        amount_per_stamp=template.amount_per_stamp,
        stamps=card.stamps,
        stamps_to_fill=template.stamps_to_fill,
        last_day=last_day,
        valid_days=template.valid_days,
        reward=reward.name if reward is not None else None,
    )


def card_views(session: Session, member_id: int, at: datetime, tz: tzinfo) -> list[CardView]:
    """The member's open, unexpired cards as they see them, in template order."""
    views = []
    for card in cards_for(session, member_id, at):
        template = session.get(StampCardTemplate, card.template_id)
        assert template is not None
        views.append(view_of(session, card, template, tz))
    return views


def progress(
    card: StampCard,
    template: StampCardTemplate,
    *,
    added: int,
    rewards: list[Coupon | None],
    limit_reached: bool,
    replayed: bool = False,
) -> dict[str, Any]:
    """One card's progress after stamping, as JSON: the card now (the filled card, or the new one the overflow went
    on), the stamps added, and the reward coupon issued when a card filled."""
    issued = [coupon.code for coupon in rewards if coupon is not None]
    return {
        "template_code": template.code,
        "template_name": template.name,
        "rule": template.rule,
        "card_id": card.id,
        "stamps": card.stamps,
        "stamps_to_fill": template.stamps_to_fill,
        "stamps_added": added,
        "filled_now": bool(rewards),
        "cards_filled": len(rewards),
        "reward_coupon_code": issued[-1] if issued else None,
        "daily_limit_reached": limit_reached,
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "replayed": replayed,
    }


@dataclass(frozen=True)
class HowToEarn:
    """A card the brand runs, as told to a member who has none yet."""

    name: str
    rule: str
    amount_per_stamp: int | None
    stamps_to_fill: int
    reward: str | None


def how_to_earn(session: Session) -> list[HowToEarn]:
    """The active card templates, as told to a member with no card yet."""
    told = []
    for template in active_templates(session):
        reward_id = template.reward_coupon_template_id
        reward = session.get(CouponTemplate, reward_id) if reward_id is not None else None
        told.append(
            HowToEarn(
                template.name,
                template.rule,
                template.amount_per_stamp,
                template.stamps_to_fill,
                reward.name if reward is not None else None,
            )
        )
    return told
