"""The dispatcher: the one way anything reaches a LINE user.

At commit, the unit of work hands it the facts services recorded. Each fact with something to say is rendered by the
chat package in the member's language and written to the outbox in the same transaction; facts that change who is
a member also mark the LINE user's rich menu for relinking. Delivery is queued by the unit of work after the commit.
A member who is not bound, has blocked the account or was erased hears nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linebot.v3.messaging import Message
from sqlalchemy.orm import Session

from bot.chat import checkin as checkin_chat
from bot.chat import coupons as coupon_chat
from bot.chat import missions as mission_chat
from bot.chat import notices
from bot.chat import stamps as stamp_chat
from bot.chat.wire import to_json
from bot.i18n import language_for
from bot.services import facts
from bot.services.engagement.mission_views import completed_view
from bot.services.engagement.missions import MissionCompleted
from bot.services.messaging import outbox
from bot.services.rewards.coupons import template_of
from bot.services.rewards.stamp_views import view_of
from bot.services.rewards.tiers import TIER_LABELS
from bot.settings import Settings
from models import Coupon, LineUser, Member, StampCard, StampCardTemplate

if TYPE_CHECKING:
    from bot.uow import UnitOfWork


@dataclass(frozen=True)
class Recipient:
    """A member who can hear from the bot: bound, not erased, not blocked."""

    member: Member
    line_user: LineUser

    @property
    def language(self) -> str:
        return language_for(self.line_user.language)


def recipient(session: Session, member_id: int) -> Recipient | None:
    """The member's LINE account, when they can be told something."""
    member = session.get(Member, member_id)
    if member is None or member.erased_at is not None or member.line_user_id is None:
        return None
    line_user = session.get(LineUser, member.line_user_id)
    if line_user is None or line_user.is_blocked:
        return None
    return Recipient(member, line_user)


# What a fact says to its member: the messages, and a key when it is to be said once per key; None: nothing.
Said = tuple[list[Message], str | None] | None
Renderer = Callable[[Session, Settings, Any, Recipient], Said]
RENDERERS: dict[type[facts.MemberFact], Renderer] = {}


def renders(fact_type: type[facts.MemberFact]) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        RENDERERS[fact_type] = renderer
        return renderer

    return register


@renders(facts.MemberJoined)
def _joined(session: Session, settings: Settings, fact: facts.MemberJoined, to: Recipient) -> Said:
    said = notices.welcome_member(to.language, settings.brand_name, to.member.member_number, fact.welcome_points)
    return said, None


@renders(facts.StampCardFilled)
def _card_filled(session: Session, settings: Settings, fact: facts.StampCardFilled, to: Recipient) -> Said:
    card = session.get(StampCard, fact.card_id)
    if card is None:
        return None
    template = session.get_one(StampCardTemplate, card.template_id)
    coupon = session.get(Coupon, fact.reward_coupon_id) if fact.reward_coupon_id is not None else None
    view = view_of(session, card, template, settings.tz)
    return stamp_chat.filled_card_messages(to.language, view, coupon), None


@renders(facts.TierChanged)
def _tier_changed(session: Session, settings: Settings, fact: facts.TierChanged, to: Recipient) -> Said:
    if not fact.upgrade:  # a downgrade is not announced
        return None
    return notices.tier_upgraded(to.language, TIER_LABELS[fact.to_tier]), None


@renders(facts.CouponIssued)
def _coupon_issued(session: Session, settings: Settings, fact: facts.CouponIssued, to: Recipient) -> Said:
    coupon = session.get(Coupon, fact.coupon_id)
    # Only a birthday coupon is announced on its own: a stamp card's reward comes with the filled card.
    if coupon is None or fact.source != "birthday":
        return None
    template = template_of(session, coupon)
    return coupon_chat.birthday_coupon(to.language, settings.tz, to.member.name, coupon, template), None


@renders(facts.CouponExpiring)
def _coupon_expiring(session: Session, settings: Settings, fact: facts.CouponExpiring, to: Recipient) -> Said:
    coupon = session.get(Coupon, fact.coupon_id)
    if coupon is None:
        return None
    said = coupon_chat.coupon_expiring(to.language, settings.tz, coupon, template_of(session, coupon))
    return said, f"coupon-expiry:{coupon.id}:{coupon.code}"


@renders(facts.PointsExpiring)
def _points_expiring(session: Session, settings: Settings, fact: facts.PointsExpiring, to: Recipient) -> Said:
    return notices.points_expiring(to.language, fact.points, fact.expires_on), None


@renders(facts.CheckinStreakAtRisk)
def _streak_at_risk(session: Session, settings: Settings, fact: facts.CheckinStreakAtRisk, to: Recipient) -> Said:
    said = checkin_chat.streak_at_risk(to.language, fact.streak)
    return said, f"checkin-reminder:{fact.member_id}:{fact.local_day.isoformat()}"


@renders(MissionCompleted)
def _mission_completed(session: Session, settings: Settings, fact: MissionCompleted, to: Recipient) -> Said:
    view = completed_view(session, fact.progress_id)
    if view is None:
        return None
    return mission_chat.completed(to.language, view), f"mission-completed:{fact.progress_id}"


def dispatch(uow: UnitOfWork) -> None:
    """Write the messages of the unit of work's facts to the outbox; list them (and menu changes) for after commit."""
    session = uow.session
    for fact in facts.forget(session):
        if isinstance(fact, facts.MembershipChanged):
            uow.after_commit.relink_menu(fact.line_user_id)
            continue
        assert isinstance(fact, facts.MemberFact), fact
        to = recipient(session, fact.member_id)
        said = RENDERERS[type(fact)](session, uow.settings, fact, to) if to is not None else None
        if said is None:
            continue
        assert to is not None
        messages, once_key = said
        payloads = [to_json(message) for message in messages]
        if once_key is not None:
            outbound_id = outbox.queue_push_once(session, to.line_user.line_user_id, payloads, once_key)
            uow.send_after_commit([outbound_id] if outbound_id is not None else [])
        else:
            rows = outbox.queue_push(session, to.line_user.line_user_id, payloads)
            uow.send_after_commit(rows)
