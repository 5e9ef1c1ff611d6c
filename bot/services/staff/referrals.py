"""Staff referral: a clerk's personal code, the shoppers who bring it to the chat, and who gets the credit.

A clerk shows their QR code; it opens a small page (`/r/<code>`) whose button opens the official account's chat with
「推薦碼 XXXX-XXXX」 typed in. LINE tells the bot nothing about where a new friend came from (a follow event carries
no source), so the code only arrives when the shopper sends that message: `record_touch` keeps every arrival, and the
first one from a LINE user who is not (and never was) a member becomes their lead. When that shopper joins or binds
(`attribute_member`, called by `binding.bind` in the same transaction), the member is credited to the lead's clerk
and store, once. Purchases by the member count for that clerk for REFERRAL_CREDIT_DAYS (see referral_report).

The codes look unlike the shoppers' invite codes (「邀請碼」 and six characters): 「推薦碼」 and eight, shown as two
groups of four.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services.membership.members import member_of
from bot.services.personal_codes import code_of
from models import (
    BindingAudit,
    LineUser,
    Member,
    ReferralAttribution,
    ReferralCode,
    ReferralLead,
    ReferralTouch,
    Staff,
    Store,
    WebhookEvent,
)

CODE_LENGTH = 8
CODE_SHAPE = re.compile(r"[A-HJ-NP-Z2-9]{8}")
KEYWORD = "推薦碼"
# A LINE user whose first follow came this recently before the code arrived counts as a new friend by referral.
NEW_FRIEND_MINUTES = 30
REFERRING_ROLES = ("clerk", "manager")
# What a typed code may contain before it is looked at (anything longer is not a code).
MAX_TYPED = 40


class Touch(enum.Enum):
    CREDITED = "credited"  # the first code this guest brought: the clerk gets the credit when they join or bind
    ALREADY_CREDITED = "already_credited"  # recorded; the credit stays with the clerk of their first touch
    MEMBER = "member"  # recorded; a member (or a former one) is never attributed again
    UNKNOWN_CODE = "unknown_code"  # no such code (or its clerk has left): nothing recorded


@dataclass(frozen=True)
class TouchResult:
    outcome: Touch
    staff_name: str | None = None
    store_name: str | None = None
    new_friend: bool = False


def normalise_code(typed: str) -> str | None:
    """A referral code as typed or scanned ("abcd-efgh", "ABCD EFGH"), upper case without separators; None when it
    cannot be one."""
    if not isinstance(typed, str) or len(typed) > MAX_TYPED:
        return None
    cleaned = re.sub(r"[\s\-－]", "", typed).upper()
    return cleaned if CODE_SHAPE.fullmatch(cleaned) else None


def display_code(code: str) -> str:
    """The code as people read it: two groups of four ("ABCD-EFGH")."""
    return f"{code[:4]}-{code[4:]}"


def typed_message(code: str) -> str:
    """The chat message that carries the code (what the landing page's button types in)."""
    return f"{KEYWORD} {display_code(code)}"


def can_refer(staff: Staff) -> bool:
    """Whether this staff member has a referral code: an active clerk or manager with a store."""
    return staff.is_active and staff.role in REFERRING_ROLES and staff.store_id is not None


def referral_code_for(session: Session, staff: Staff, at: datetime) -> ReferralCode:
    """The staff member's referral code, made now (at `at`) if they have none yet."""
    return code_of(session, ReferralCode, "staff_id", staff.id, at, CODE_LENGTH)


def referrer_of(session: Session, typed: str) -> tuple[Staff, Store] | None:
    """The clerk and store behind a referral code as typed, if it is a code of an active clerk or manager."""
    code = normalise_code(typed)
    if code is None:
        return None
    row = session.scalars(select(ReferralCode).where(ReferralCode.code == code)).one_or_none()
    if row is None:
        return None
    staff = session.get_one(Staff, row.staff_id)
    if not can_refer(staff) or staff.store is None:
        return None
    return staff, staff.store


def _was_ever_member(session: Session, line_user: LineUser) -> bool:
    if member_of(session, line_user) is not None:
        return True
    bound = session.scalar(select(func.count(BindingAudit.id)).where(BindingAudit.line_user_id == line_user.id))
    return bool(bound)


def _just_followed(session: Session, line_user: LineUser, at: datetime) -> bool:
    """Whether the LINE user's first contact with the account was a follow (not an unblock) in the last
    NEW_FRIEND_MINUTES: the webhook's stored events are the only record of it."""
    events = session.execute(
        select(WebhookEvent.event_type, WebhookEvent.occurred_at, WebhookEvent.payload).where(
            WebhookEvent.line_user_id == line_user.line_user_id
        )
    ).all()
    follows = [(occurred, payload) for kind, occurred, payload in events if kind == "follow"]
    if not follows:
        return False
    if any((payload.get("follow") or {}).get("isUnblocked") for _occurred, payload in follows):
        return False
    first: datetime = min(occurred for _kind, occurred, _payload in events)
    first_follow: datetime = min(occurred for occurred, _payload in follows)
    return bool(first == first_follow and first >= at - timedelta(minutes=NEW_FRIEND_MINUTES))


def record_touch(session: Session, line_user: LineUser, typed: str, at: datetime) -> TouchResult:
    """A LINE user sent a referral code: the touch is recorded (every one, with the clerk, the store and whether the
    user had just followed, was a friend already or is a member); the first touch of a guest becomes their lead.
    An unknown code records nothing."""
    found = referrer_of(session, typed)
    if found is None:
        return TouchResult(Touch.UNKNOWN_CODE)
    staff, store = found
    if _was_ever_member(session, line_user):
        relation = "member"
    elif _just_followed(session, line_user, at):
        relation = "new_friend"
    else:
        relation = "friend"
    touch = ReferralTouch(at=at, line_user_id=line_user.id, staff_id=staff.id, store_id=store.id, relation=relation)
    session.add(touch)
    session.flush()

    def result(outcome: Touch) -> TouchResult:
        return TouchResult(outcome, staff.name, store.name, new_friend=relation == "new_friend")

    if relation == "member":
        return result(Touch.MEMBER)
    lead = session.scalars(select(ReferralLead).where(ReferralLead.line_user_id == line_user.id)).one_or_none()
    if lead is None:
        try:
            with session.begin_nested():
                lead = ReferralLead(
                    line_user_id=line_user.id,
                    touch_id=touch.id,
                    staff_id=staff.id,
                    store_id=store.id,
                    at=at,
                    new_friend=relation == "new_friend",
                )
                session.add(lead)
                session.flush()
        except IntegrityError:  # the same user's other message made the lead a moment ago: theirs is first
            return result(Touch.ALREADY_CREDITED)
        return result(Touch.CREDITED)
    return result(Touch.ALREADY_CREDITED)


def attribute_member(
    session: Session, member: Member, line_user: LineUser, *, kind: str, at: datetime
) -> ReferralAttribution | None:
    """The LINE user has just joined (`kind` "join") or bound an existing membership ("bind"): when they came with
    a clerk's code, the member is credited to that clerk and store (`members.referred_by_staff_id`), once per member
    and once per lead. Called by `binding.bind` in the same transaction; returns the attribution made, if any."""
    assert kind in ("join", "bind"), kind
    lead = session.scalars(select(ReferralLead).where(ReferralLead.line_user_id == line_user.id)).one_or_none()
    if lead is None or member.referred_by_staff_id is not None:
        return None
    try:
        with session.begin_nested():
            attribution = ReferralAttribution(
                member_id=member.id,
                lead_id=lead.id,
                staff_id=lead.staff_id,
                store_id=lead.store_id,
                kind=kind,
                at=at,
            )
            session.add(attribution)
            session.flush()
    except IntegrityError:  # this member or this lead was credited already
        return None
    member.referred_by_staff_id = lead.staff_id
    return attribution
