"""Joining from LINE: a new member, bound to the LINE user, with their consent and an optional welcome reward.

The join page has the phone proven first (an SMS code, `verification.request_code(members_only=False)`): only then
`join_with_verified_phone` creates the member, or, when the proven phone is already a member's, `link_instead` starts
LINE's account-link flow for that membership (its holder has just shown they own it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy.orm import Session

from bot.services import facts
from bot.services.engagement.invites import credit_inviter
from bot.services.membership.account_link import AccountLinkRefused, record_link_token, start_account_link
from bot.services.membership.binding import bind
from bot.services.membership.members import create_member, find_by_phone, member_of
from bot.services.refusals import Reason, Refused
from bot.services.rewards.ledger import post_points
from bot.services.rewards.stamp_cards import DEFAULT_TZ
from models import AccountLinkNonce, Consent, LineUser, Member, PhoneVerification

# The versions of the terms and the privacy notice the join page shows; change them with the texts.
TERMS_VERSION = "2026-01"
PRIVACY_VERSION = "2026-01"


class PhoneTaken(Refused):
    """The phone already belongs to a member: they should bind that membership instead of joining again."""

    def __init__(self) -> None:
        super().__init__(Reason.PHONE_TAKEN)


@dataclass(frozen=True)
class JoinForm:
    """What the shopper typed, already checked and normalised."""

    name: str
    phone_e164: str
    birthday: date | None
    marketing_opt_in: bool


def join_with_line(
    session: Session,
    line_user: LineUser,
    form: JoinForm,
    *,
    now: datetime,
    welcome_points: int = 0,
    tz: tzinfo = DEFAULT_TZ,
) -> Member:
    """Create the member, bind them to the LINE user and record their consent, all in the caller's transaction.

    Refused (`already_joined`) when the LINE user is already bound; PhoneTaken when the phone is a member's.
    With `welcome_points` > 0 the new member gets them once, as a campaign entry in the ledger. A friend who came
    with a member's invite code counts on that member's invite missions (brand-local `tz`).
    """
    if member_of(session, line_user) is not None:
        raise Refused(Reason.ALREADY_JOINED)
    if find_by_phone(session, form.phone_e164) is not None:
        raise PhoneTaken()
    member = create_member(session, name=form.name, phone_e164=form.phone_e164, birthday=form.birthday, source="line")
    bind(session, member, line_user, channel="line_page", at=now)
    session.add(
        Consent(
            member_id=member.id,
            terms_version=TERMS_VERSION,
            privacy_version=PRIVACY_VERSION,
            marketing_opt_in=form.marketing_opt_in,
            channel="line_page",
            created_at=now,
        )
    )
    if welcome_points > 0:
        post_points(
            session,
            member.id,
            welcome_points,
            kind="earn",
            reason="入會禮",
            channel="campaign",
            idempotency_key=f"welcome:{member.id}",
            at=now,
        )
    session.flush()
    credit_inviter(session, member, line_user, now, tz)
    facts.record(session, facts.MemberJoined(member.id, welcome_points))
    return member


def join_with_verified_phone(
    session: Session,
    line_user: LineUser,
    form: JoinForm,
    verification: PhoneVerification,
    *,
    now: datetime,
    welcome_points: int = 0,
    tz: tzinfo = DEFAULT_TZ,
) -> Member | None:
    """After the join page's code was verified: the new member (`join_with_line`), or None when the phone is
    already a member's, whose membership the caller then links with `link_instead`.

    Refused (`phone_not_verified`) unless `verification` is verified, for this LINE user and the form's phone.
    """
    if (
        verification.verified_at is None
        or verification.line_user_id != line_user.id
        or verification.phone_e164 != form.phone_e164
    ):
        raise Refused(Reason.PHONE_NOT_VERIFIED)
    if member_of(session, line_user) is not None:
        raise Refused(Reason.ALREADY_JOINED)
    if find_by_phone(session, form.phone_e164) is not None:
        return None
    return join_with_line(session, line_user, form, now=now, welcome_points=welcome_points, tz=tz)


def link_instead(
    session: Session, line_user: LineUser, verification_id: int, link_token: str, now: datetime
) -> AccountLinkNonce:
    """The phone proven on the join page is a member's: record LINE's link token and make the nonce that sends
    the shopper through LINE's account-link dialog to that membership (as the bind page does after its code)."""
    record_link_token(session, line_user, link_token, now)
    verification = session.get(PhoneVerification, verification_id)
    if verification is None:
        raise AccountLinkRefused(Reason.PHONE_NOT_VERIFIED)
    return start_account_link(session, line_user, verification, now)
