"""Coupons: issuing a member their own coupon from a template, redeeming it exactly once, undoing a redemption.

Every limit holds under concurrency because the database decides, not a read followed by a write:
* the template's total limit: a conditional `UPDATE coupon_templates SET issued_count = issued_count + 1` that
  matches no row once the limit is reached (and a CHECK behind it);
* one coupon per source: the unique `coupons.source_key`;
* one redemption per coupon: a conditional `UPDATE coupons SET redeemed_at = …` that matches only an unused, valid
  coupon, with the live `CouponRedemption` (a partial unique index) inserted in the same SAVEPOINT.

A refusal (`CouponRefused`) changes nothing.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from bot.services.rewards.coupon_rules import CODE_DIGITS, CODE_PREFIX, normalise_code, validity
from bot.services.rewards.coupon_rules import CouponRefused as CouponRefused  # re-exported: callers catch it from here
from models import Coupon, CouponRedemption, CouponTemplate, Member, Staff

log = logging.getLogger(__name__)

# A clerk may undo a redemption at their store for this long after it.
UNDO_WINDOW = timedelta(minutes=15)
CHANNELS = ("clerk_scan", "pos_api")
# The brand's zone when a caller does not pass Settings.tz (as stamp cards default to it).
DEFAULT_TZ: tzinfo = ZoneInfo("Asia/Taipei")


def _new_code(session: Session) -> str:
    while True:
        code = f"{CODE_PREFIX}{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if session.scalar(select(Coupon.id).where(Coupon.code == code)) is None:
            return code


def _by_source(session: Session, source_key: str) -> Coupon | None:
    return session.scalars(
        select(Coupon).where(Coupon.source_key == source_key).execution_options(populate_existing=True)
    ).one_or_none()


def _check_issuable(session: Session, member: Member, template: CouponTemplate, at: datetime) -> None:
    if member.erased_at is not None:
        raise CouponRefused(Reason.COUPON_MEMBER_ERASED)
    if not template.is_active:
        raise CouponRefused(Reason.COUPON_INACTIVE)
    if template.valid_until is not None and template.valid_until <= at:
        raise CouponRefused(Reason.COUPON_ENDED)
    if template.per_member_limit is not None:
        # One member's issues take turns (the row lock) so two of them cannot both pass the count.
        session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
        held = session.scalar(
            select(func.count(Coupon.id)).where(Coupon.member_id == member.id, Coupon.template_id == template.id)
        )
        if (held or 0) >= template.per_member_limit:
            raise CouponRefused(Reason.COUPON_MEMBER_LIMIT)


def issue_coupon(
    session: Session, member: Member, template: CouponTemplate, *, source: str, source_key: str, at: datetime
) -> tuple[Coupon, bool]:
    """Issue `member` a coupon of `template` once per `source_key`: `(coupon, True)` when issued now, or
    `(the coupon issued earlier for this source_key, False)`.

    Refused (`CouponRefused`) for an inactive or ended template, a template whose total limit is reached
    (`sold_out`), a member at the per-member limit, or an erased member. Runs in the caller's transaction.
    """
    existing = _by_source(session, source_key)
    if existing is not None:
        return existing, False
    _check_issuable(session, member, template, at)
    valid_from, expires_at = validity(template, at)
    for _attempt in range(5):
        try:
            with session.begin_nested():
                _count_one_issued(session, template)
                coupon = Coupon(
                    template_id=template.id,
                    member_id=member.id,
                    code=_new_code(session),
                    source=source,
                    source_key=source_key,
                    valid_from=valid_from,
                    expires_at=expires_at,
                    created_at=at,
                )
                session.add(coupon)
                session.flush()
        except IntegrityError:
            # A concurrent issue for the same source won (hand back its coupon), or a code collided (draw again).
            existing = _by_source(session, source_key)
            if existing is not None:
                return existing, False
            continue
        session.refresh(template)
        log.info("coupon %s issued to member %s from %s", template.code, member.id, source)
        return coupon, True
    raise Refused(Reason.COUPON_UNAVAILABLE)


def _count_one_issued(session: Session, template: CouponTemplate) -> None:
    counted = session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == template.id,
            (CouponTemplate.total_limit.is_(None)) | (CouponTemplate.issued_count < CouponTemplate.total_limit),
        )
        .values(issued_count=CouponTemplate.issued_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not counted:
        raise CouponRefused(Reason.COUPON_SOLD_OUT)


def find_coupon(session: Session, code: str) -> Coupon | None:
    """The coupon with this code (as typed or scanned), read fresh from the database."""
    return session.scalars(
        select(Coupon).where(Coupon.code == normalise_code(code)).execution_options(populate_existing=True)
    ).one_or_none()


def template_of(session: Session, coupon: Coupon) -> CouponTemplate:
    """The template a coupon was issued from."""
    return session.get_one(CouponTemplate, coupon.template_id)


def why_not_usable(coupon: Coupon, at: datetime) -> Reason | None:
    """The reason a coupon would be refused at `at` (voided, used, not_yet_valid, expired), or None."""
    if coupon.voided_at is not None:
        return Reason.COUPON_VOIDED
    if coupon.redeemed_at is not None:
        return Reason.COUPON_USED
    if coupon.valid_from > at:
        return Reason.COUPON_NOT_YET_VALID
    if coupon.expires_at is not None and coupon.expires_at <= at:
        return Reason.COUPON_EXPIRED
    return None


def redeem_coupon(
    session: Session,
    code: str,
    *,
    store_id: int,
    staff_id: int | None,
    channel: str,
    at: datetime,
    member_id: int | None,
    spend: int | None = None,
    transaction_id: str | None = None,
    tz: tzinfo = DEFAULT_TZ,
) -> Coupon:
    """Use a coupon once, at a store, with its member at the till (`member_id`, identified by the caller): of any
    number of concurrent attempts on one coupon exactly one succeeds.

    Refused (`CouponRefused`, nothing changed) with reason `unknown`, `member_required` (no member at the till,
    `member_id` None, and the template does not allow that), `foreign` (`member_id` not the coupon's member),
    `voided`, `used`, `not_yet_valid`, `expired` or `min_spend` (`spend` given and below the template's minimum).
    `channel` is "clerk_scan" or "pos_api". The redemption counts on the member's coupon missions (brand-local `tz`).
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    coupon = find_coupon(session, code)
    if coupon is None:
        raise CouponRefused(Reason.COUPON_UNKNOWN)
    template = template_of(session, coupon)
    if member_id is None and not template.redeemable_without_member:
        raise CouponRefused(Reason.COUPON_MEMBER_REQUIRED)
    if member_id is not None and coupon.member_id != member_id:
        raise CouponRefused(Reason.COUPON_FOREIGN)
    reason = why_not_usable(coupon, at)
    if reason is not None:
        raise CouponRefused(reason)
    if spend is not None and spend < template.min_spend:
        raise CouponRefused(Reason.COUPON_MIN_SPEND, min_spend=f"{template.min_spend:,}")
    try:
        with session.begin_nested():
            _claim(session, coupon, at)
            session.add(
                CouponRedemption(
                    coupon_id=coupon.id,
                    store_id=store_id,
                    staff_id=staff_id,
                    channel=channel,
                    transaction_id=transaction_id,
                    created_at=at,
                )
            )
            session.flush()
    except IntegrityError:
        # The live-redemption index refused a second one: another attempt won.
        raise CouponRefused(Reason.COUPON_USED) from None
    session.refresh(coupon)
    from bot.services.engagement import missions  # here: missions issue coupons as rewards

    missions.on_coupon_redeemed(session, coupon, at, tz)
    log.info("coupon %s redeemed at store %s via %s", coupon.id, store_id, channel)
    return coupon


def _claim(session: Session, coupon: Coupon, at: datetime) -> None:
    """The conditional UPDATE that only one attempt can win; the losers learn why from the row as it is now."""
    claimed = session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            Coupon.redeemed_at.is_(None),
            Coupon.voided_at.is_(None),
            Coupon.valid_from <= at,
            Coupon.expires_at.is_(None) | (Coupon.expires_at > at),
        )
        .values(redeemed_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not claimed:
        session.refresh(coupon)
        raise CouponRefused(why_not_usable(coupon, at) or Reason.COUPON_USED)


def live_redemption(session: Session, coupon: Coupon) -> CouponRedemption | None:
    """The coupon's redemption that stands (not undone), if it is used."""
    return session.scalars(
        select(CouponRedemption)
        .where(CouponRedemption.coupon_id == coupon.id, CouponRedemption.is_active.is_(True))
        .execution_options(populate_existing=True)
    ).one_or_none()


def undo_redemption(
    session: Session, code: str, *, staff_id: int, store_id: int, at: datetime, tz: tzinfo = DEFAULT_TZ
) -> Coupon:
    """Undo a coupon's live redemption within `UNDO_WINDOW`, by a clerk of the store where it was redeemed: the
    redemption is kept, marked undone (when, by whom), and the coupon can be used again.

    Refused with reason `unknown`, `not_redeemed` (no live redemption: never used, or already undone),
    `other_store` or `undo_window_passed`. The redemption no longer counts on coupon missions not yet completed.
    """
    coupon = find_coupon(session, code)
    if coupon is None:
        raise CouponRefused(Reason.COUPON_UNKNOWN)
    redemption = live_redemption(session, coupon)
    if redemption is None:
        raise CouponRefused(Reason.COUPON_NOT_REDEEMED)
    staff = session.get(Staff, staff_id)
    if redemption.store_id != store_id or staff is None or staff.store_id != store_id:
        raise CouponRefused(Reason.COUPON_OTHER_STORE)
    if at - redemption.created_at > UNDO_WINDOW:
        raise CouponRefused(Reason.COUPON_UNDO_WINDOW_PASSED)
    with session.begin_nested():
        # The coupon row first, as a redemption takes it, so an undo and a redemption never wait on each other.
        session.execute(select(Coupon.id).where(Coupon.id == coupon.id).with_for_update())
        undone = session.execute(
            update(CouponRedemption)
            .where(CouponRedemption.id == redemption.id, CouponRedemption.is_active.is_(True))
            .values(is_active=False, undone_at=at, undone_by_staff_id=staff_id)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not undone:
            raise CouponRefused(Reason.COUPON_NOT_REDEEMED)
        session.execute(
            update(Coupon)
            .where(Coupon.id == coupon.id)
            .values(redeemed_at=None)
            .execution_options(synchronize_session=False)
        )
    session.refresh(coupon)
    from bot.services.engagement import missions  # here: missions issue coupons as rewards

    missions.on_coupon_redemption_undone(session, coupon, redemption.created_at, at, tz)
    log.info("coupon %s redemption undone at store %s", coupon.id, store_id)
    return coupon


def void_coupon(session: Session, code: str, *, at: datetime) -> Coupon:
    """Withdraw an unused coupon for good (issued in error, member left). Refused: `unknown`, `used`, `voided`."""
    coupon = find_coupon(session, code)
    if coupon is None:
        raise CouponRefused(Reason.COUPON_UNKNOWN)
    voided = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.redeemed_at.is_(None), Coupon.voided_at.is_(None))
        .values(voided_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(coupon)
    if not voided:
        raise CouponRefused(Reason.COUPON_VOIDED if coupon.voided_at is not None else Reason.COUPON_USED)
    return coupon


def usable_coupons(session: Session, member_id: int, at: datetime) -> list[Coupon]:
    """The member's coupons that would be accepted now: unused, not voided, started, not expired; soonest to
    expire first."""
    return list(
        session.scalars(
            select(Coupon)
            .where(
                Coupon.member_id == member_id,
                Coupon.redeemed_at.is_(None),
                Coupon.voided_at.is_(None),
                Coupon.valid_from <= at,
                Coupon.expires_at.is_(None) | (Coupon.expires_at > at),
            )
            .order_by(Coupon.expires_at.is_(None), Coupon.expires_at, Coupon.id)
        )
    )
