"""Stamp cards: stamps earned by purchases (per NT$ spent, or per visit) and by a clerk's "smart stamp", capped per
member and brand-local day. A full card is closed, its reward coupon issued, the overflow put on a new card, and
the member shown the full card in the chat.

Every stamp change is a ledger entry (`ledger.post_stamps`); the card mechanics (locking, opening, expiring,
filling) are in `stamp_cards`, the answers in `stamp_views`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.refusals import Reason, Refused
from bot.services.rewards.coupon_rules import template_by_code
from bot.services.rewards.ledger import post_stamps
from bot.services.rewards.stamp_cards import DEFAULT_TZ as DEFAULT_TZ
from bot.services.rewards.stamp_cards import active_templates as active_templates
from bot.services.rewards.stamp_cards import cards_for as cards_for
from bot.services.rewards.stamp_cards import (
    earned_on,
    expiry_of_new_card,
    fill_card,
    local_day,
    lock_open_card,
    new_card,
    open_card,
)
from bot.services.rewards.stamp_cards import expire_stamp_cards as expire_stamp_cards
from bot.services.rewards.stamp_views import progress
from models import Coupon, Member, Purchase, StampCard, StampCardTemplate, StampEntry

PURCHASE_REASON = "消費集點"
VISIT_REASON = "來店集點"
REVERSE_REASON = "退貨扣回集點"


def _entry(session: Session, key: str) -> StampEntry | None:
    return session.scalars(select(StampEntry).where(StampEntry.idempotency_key == key)).one_or_none()


def _grant(
    session: Session,
    member: Member,
    template: StampCardTemplate,
    wanted: int,
    *,
    key: str,
    reason: str,
    channel: str,
    at: datetime,
    tz: tzinfo,
    purchase_id: int | None = None,
    staff_id: int | None = None,
) -> dict[str, Any]:
    """Add up to `wanted` stamps within the daily limit, closing, rewarding and replacing cards as they fill."""
    first = _entry(session, f"{key}:0")
    if first is not None:  # the same purchase or smart stamp again adds nothing
        card = lock_open_card(session, member.id, template.id) or session.get(StampCard, first.card_id)
        assert card is not None
        return progress(card, template, added=0, rewards=[], limit_reached=False, replayed=True)
    day = local_day(at, tz)
    card = open_card(session, member.id, template.id, at, tz)  # locked: today's count cannot move under us
    earned = earned_on(session, member.id, template.id, day)
    allowed = wanted if template.daily_limit is None else max(0, min(wanted, template.daily_limit - earned))
    added, part = 0, 0
    rewards: list[Coupon | None] = []
    while True:
        if card.stamps >= template.stamps_to_fill:
            coupon = fill_card(session, member, card, template, at)
            rewards.append(coupon)
            facts.record(session, facts.StampCardFilled(member.id, card.id, coupon.id if coupon else None))
            if allowed == 0:
                break
            card = new_card(session, member.id, template.id, at)
        if allowed == 0:
            break
        if card.expires_at is None:
            card.expires_at = expiry_of_new_card(template, at, tz)
        step = min(template.stamps_to_fill - card.stamps, allowed)
        post_stamps(
            session,
            card,
            step,
            kind="earn",
            reason=reason,
            channel=channel,
            idempotency_key=f"{key}:{part}",
            at=at,
            local_day=day,
            purchase_id=purchase_id,
            staff_id=staff_id,
        )
        allowed, added, part = allowed - step, added + step, part + 1
    limit_reached = template.daily_limit is not None and earned + added >= template.daily_limit
    return progress(card, template, added=added, rewards=rewards, limit_reached=limit_reached)


def _wanted(template: StampCardTemplate, amount: int) -> int:
    if template.rule == "per_visit":
        return 1
    if not template.amount_per_stamp or template.amount_per_stamp <= 0:
        return 0
    return amount // template.amount_per_stamp


def stamps_for_purchase(
    session: Session, member: Member, purchase: Purchase, at: datetime, tz: tzinfo = DEFAULT_TZ
) -> list[dict[str, Any]]:
    """Stamp a purchase on every active card: per_amount `amount // amount_per_stamp`, per_visit 1, each capped by
    the template's per-member limit for the brand-local day of `at` (in `tz`). Returns the progress per card (JSON).

    Keys `purchase:{purchase.id}:card:{template.id}:{n}` make a replay add nothing. A card that fills is closed, its
    reward coupon issued, the overflow put on a new card, and the member (bound, not blocked) pushed the full card.
    An expired open card is closed (its stamps expire) and a new one opened. Runs in the caller's transaction.
    """
    if member.erased_at is not None:
        return []
    answers = []
    for template in active_templates(session):
        wanted = _wanted(template, purchase.amount)
        if wanted > 0:
            answers.append(
                _grant(
                    session,
                    member,
                    template,
                    wanted,
                    key=f"purchase:{purchase.id}:card:{template.id}",
                    reason=PURCHASE_REASON,
                    channel=purchase.channel,
                    at=at,
                    tz=tz,
                    purchase_id=purchase.id,
                    staff_id=purchase.staff_id,
                )
            )
    return answers


def smart_stamp(
    session: Session,
    member: Member,
    *,
    store_id: int,
    staff_id: int | None,
    at: datetime,
    idempotency_key: str,
    tz: tzinfo = DEFAULT_TZ,
) -> list[dict[str, Any]]:
    """A clerk gives one stamp on each active per_visit card, within each card's daily limit; the progress per card.

    Refused (`no_stamp_card`, `daily_limit_reached`), changing nothing, when no per_visit card runs or every one has
    reached today's limit.
    The same `idempotency_key` at the same store again adds nothing and answers the progress (`replayed`).
    """
    templates = active_templates(session, "per_visit")
    if not templates:
        raise Refused(Reason.NO_STAMP_CARD)
    with session.begin_nested():  # a refusal rolls back whatever was touched (a card opened or expired)
        answers = [
            _grant(
                session,
                member,
                template,
                1,
                key=f"smart:{store_id}:{idempotency_key}:card:{template.id}",
                reason=VISIT_REASON,
                channel="clerk",
                at=at,
                tz=tz,
                staff_id=staff_id,
            )
            for template in templates
        ]
        if not any(answer["stamps_added"] or answer["replayed"] for answer in answers):
            raise Refused(Reason.DAILY_LIMIT_REACHED)
    return answers


def award_stamps(
    session: Session,
    member: Member,
    template: StampCardTemplate,
    count: int,
    *,
    idempotency_key: str,
    reason: str,
    at: datetime,
    tz: tzinfo = DEFAULT_TZ,
) -> dict[str, Any]:
    """Give `count` stamps on the member's card of `template` as a reward (a check-in milestone, a mission), within
    the card's daily limit, filling and rewarding cards like any stamp; once per `idempotency_key`."""
    return _grant(
        session, member, template, count, key=idempotency_key, reason=reason, channel="line_task", at=at, tz=tz
    )


def earlier_smart_stamp(session: Session, store_id: int, idempotency_key: str) -> int | None:
    """The member an earlier smart stamp at this store with this idempotency key stamped, if there was one."""
    prefix = f"smart:{store_id}:{idempotency_key}:card:"
    return session.scalar(
        select(StampEntry.member_id).where(StampEntry.idempotency_key.startswith(prefix, autoescape=True)).limit(1)
    )


def reverse_purchase_stamps(
    session: Session, purchase: Purchase, refund_amount: int, at: datetime, tz: tzinfo = DEFAULT_TZ
) -> int:
    """Take back the stamps the refunded part of a purchase earned on per_amount cards; the stamps removed.

    Call after adding `refund_amount` to `purchase.refunded_amount`: the purchase then keeps
    `min(stamps it earned, (amount - refunded_amount) // amount_per_stamp)`. Stamps come off the member's open card
    and never below zero: a reward coupon already issued for a filled card is never taken back, and stamps that
    are no longer on the open card (it filled, or expired) are forgiven.
    """
    rows = session.execute(
        select(StampCard.template_id, StampEntry.kind, func.sum(StampEntry.stamps))
        .join(StampCard, StampCard.id == StampEntry.card_id)
        .join(StampCardTemplate, StampCardTemplate.id == StampCard.template_id)
        .where(StampEntry.purchase_id == purchase.id, StampCardTemplate.rule == "per_amount")
        .group_by(StampCard.template_id, StampEntry.kind)
    ).all()
    totals: dict[int, dict[str, int]] = {}
    for template_id, kind, stamps in rows:
        totals.setdefault(template_id, {})[kind] = int(stamps or 0)
    refunded = max(purchase.refunded_amount, refund_amount)
    removed_total = 0
    for template_id, by_kind in sorted(totals.items()):
        template = session.get(StampCardTemplate, template_id)
        assert template is not None and template.amount_per_stamp
        earned, taken = by_kind.get("earn", 0), -by_kind.get("reverse", 0)
        kept = min(earned, max(0, purchase.amount - refunded) // template.amount_per_stamp)
        card = lock_open_card(session, purchase.member_id, template_id)
        remove = min(earned - taken - kept, card.stamps if card is not None else 0)
        if card is None or remove <= 0:
            continue
        post_stamps(
            session,
            card,
            -remove,
            kind="reverse",
            reason=REVERSE_REASON,
            channel=purchase.channel,
            idempotency_key=f"purchase:{purchase.id}:card:{template_id}:reverse:{refunded}",
            at=at,
            local_day=local_day(at, tz),
            purchase_id=purchase.id,
        )
        removed_total += remove
    return removed_total


# code, name, rule, NT$ per stamp, stamps to fill, daily limit, valid days, reward coupon template
DEMO_TEMPLATES = (
    ("BREAD10", "麵包集點卡", "per_amount", 100, 10, 3, 180, "FREEBREAD"),
    ("VISIT5", "來店集點", "per_visit", None, 5, 1, None, None),
)


def seed_demo_stamp_cards(session: Session) -> int:
    """Add the demo stamp card templates that are missing (BREAD10, VISIT5); returns how many were added.

    BREAD10's reward is the FREEBREAD coupon template once that exists (a later run links it)."""
    added = 0
    for code, name, rule, per_stamp, to_fill, limit, valid_days, reward_code in DEMO_TEMPLATES:
        template = session.scalars(select(StampCardTemplate).where(StampCardTemplate.code == code)).one_or_none()
        if template is None:
            template = StampCardTemplate(
                code=code,
                name=name,
                rule=rule,
                amount_per_stamp=per_stamp,
                stamps_to_fill=to_fill,
                daily_limit=limit,
                valid_days=valid_days,
            )
            session.add(template)
            added += 1
        reward = template_by_code(session, reward_code) if reward_code else None
        if reward is not None and template.reward_coupon_template_id is None:
            template.reward_coupon_template_id = reward.id
    session.flush()
    return added
