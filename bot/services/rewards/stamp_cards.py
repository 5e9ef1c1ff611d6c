"""One member's stamp cards, one at a time: find (and lock) the open card, open one, close it when it expires or
fills, and count the stamps earned on a brand-local day. `bot.services.rewards.stamps` builds the rules on these.

Concurrency: the member's open card of a template is locked (`SELECT … FOR UPDATE`) before anything is counted, so
concurrent stamps for one member take turns; two transactions opening a card at once are settled by the partial
unique index (one open card per member and template). On SQLite, `BEGIN IMMEDIATE` serialises writers anyway.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from bot.services.rewards.coupon_rules import CouponRefused
from bot.services.rewards.coupons import issue_coupon
from bot.services.rewards.ledger import post_stamps
from models import Coupon, CouponTemplate, Member, StampCard, StampCardTemplate, StampEntry

log = logging.getLogger(__name__)

DEFAULT_TZ: tzinfo = ZoneInfo("Asia/Taipei")
EXPIRED_REASON = "集點卡到期"


def local_day(at: datetime, tz: tzinfo) -> date:
    """The brand-local calendar day of an instant."""
    return at.astimezone(tz).date()


def lock_open_card(session: Session, member_id: int, template_id: int) -> StampCard | None:
    """The member's open card of the template, row-locked until the transaction ends."""
    return session.scalars(
        select(StampCard)
        .where(StampCard.member_id == member_id, StampCard.template_id == template_id, StampCard.is_open.is_(True))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def new_card(session: Session, member_id: int, template_id: int, at: datetime) -> StampCard:
    """Open a card; when a concurrent transaction has just opened one, that card (locked) instead."""
    for _attempt in range(3):
        try:
            with session.begin_nested():
                card = StampCard(member_id=member_id, template_id=template_id, stamps=0, is_open=True, created_at=at)
                session.add(card)
                session.flush()
            return card
        except IntegrityError:
            found = lock_open_card(session, member_id, template_id)
            if found is not None:
                return found
    raise Refused(Reason.STAMP_CARD_UNAVAILABLE)


def expire_card(session: Session, card: StampCard, at: datetime, tz: tzinfo) -> None:
    """Close an expired card: an `expire` entry first takes its stamps to 0."""
    if card.stamps > 0:
        post_stamps(
            session,
            card,
            -card.stamps,
            kind="expire",
            reason=EXPIRED_REASON,
            channel="system",
            idempotency_key=f"stamp-card:{card.id}:expire",
            at=at,
            local_day=local_day(at, tz),
        )
    card.expired_at, card.is_open = at, False
    session.flush()


def open_card(session: Session, member_id: int, template_id: int, at: datetime, tz: tzinfo) -> StampCard:
    """The member's open card of the template (locked); an expired one is closed and a new one opened."""
    card = lock_open_card(session, member_id, template_id)
    if card is not None and card.expires_at is not None and card.expires_at <= at:
        expire_card(session, card, at, tz)
        card = None
    return card if card is not None else new_card(session, member_id, template_id, at)


def expiry_of_new_card(template: StampCardTemplate, first_stamp_at: datetime, tz: tzinfo) -> datetime | None:
    """A card works for `valid_days` brand-local days counting the day of its first stamp: it expires at the
    local midnight that ends the last one (None: never)."""
    if template.valid_days is None:
        return None
    last_midnight = local_day(first_stamp_at, tz) + timedelta(days=template.valid_days)
    return datetime.combine(last_midnight, time.min, tzinfo=tz)


def earned_on(session: Session, member_id: int, template_id: int, day: date) -> int:
    """Stamps the member earned on cards of the template on this brand-local day (what the daily limit counts)."""
    total = session.scalar(
        select(func.coalesce(func.sum(StampEntry.stamps), 0))
        .join(StampCard, StampCard.id == StampEntry.card_id)
        .where(
            StampEntry.member_id == member_id,
            StampCard.template_id == template_id,
            StampEntry.kind == "earn",
            StampEntry.local_day == day,
        )
    )
    return int(total or 0)


def fill_card(
    session: Session, member: Member, card: StampCard, template: StampCardTemplate, at: datetime
) -> Coupon | None:
    """Close a full card and issue its reward coupon, once per card (the coupon's source key); the coupon.

    A reward the coupon service refuses (sold out, ended) is logged: the card still counts as filled.
    """
    card.filled_at, card.is_open = at, False
    session.flush()
    reward_id = template.reward_coupon_template_id
    reward = session.get(CouponTemplate, reward_id) if reward_id is not None else None
    if reward is None:
        return None
    try:
        coupon, _issued = issue_coupon(
            session, member, reward, source="stamp_card", source_key=f"stamp-card:{card.id}", at=at
        )
    except CouponRefused as refused:
        log.warning("stamp card %s filled but its reward was refused: %s", card.id, refused.reason)
        return None
    card.reward_coupon_id = coupon.id
    session.flush()
    return coupon


def expire_stamp_cards(session: Session, at: datetime, tz: tzinfo = DEFAULT_TZ) -> int:
    """Close every open card past its `expires_at` (an `expire` entry takes its stamps to 0); how many it closed.

    Run daily by `bot.tasks`; a purchase or smart stamp meeting an expired card closes it too.
    """
    due = session.scalars(
        select(StampCard)
        .where(StampCard.is_open.is_(True), StampCard.expires_at <= at)
        .order_by(StampCard.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for card in due:
        expire_card(session, card, at, tz)
    return len(due)


def cards_for(session: Session, member_id: int, at: datetime) -> list[StampCard]:
    """The member's open cards that have not expired by `at`, in template order."""
    return list(
        session.scalars(
            select(StampCard)
            .where(StampCard.member_id == member_id, StampCard.is_open.is_(True))
            .where(StampCard.expires_at.is_(None) | (StampCard.expires_at > at))
            .order_by(StampCard.template_id)
        )
    )


# Built once: every purchase and stamp asks which cards run.
_ACTIVE = select(StampCardTemplate).where(StampCardTemplate.is_active.is_(True)).order_by(StampCardTemplate.id)
_ACTIVE_OF_RULE = _ACTIVE.where(StampCardTemplate.rule == bindparam("rule"))


def active_templates(session: Session, rule: str | None = None) -> list[StampCardTemplate]:
    """The stamp cards the brand runs now (of one rule, if given), in id order."""
    if rule is None:
        return list(session.scalars(_ACTIVE))
    return list(session.scalars(_ACTIVE_OF_RULE, {"rule": rule}))
