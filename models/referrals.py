"""Staff referral: each clerk's personal code, every time a shopper brings one to the chat, the first touch that
earns the credit, and the members attributed to a clerk and store when they join or bind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin

# new_friend: followed the account just before sending the code; friend: a friend already, not a member;
# member: already a member (recorded, never attributed).
TOUCH_RELATIONS = ("new_friend", "friend", "member")


class ReferralCode(TimestampMixin, Base):
    """A clerk's or manager's personal referral code (not their staff number): one per staff member."""

    __tablename__ = "referral_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)


class ReferralTouch(Base):
    """A LINE user sent a clerk's referral code to the chat: every touch is kept, first or not (append-only)."""

    __tablename__ = "referral_touches"
    __table_args__ = (CheckConstraint("relation IN ('new_friend', 'friend', 'member')", name="relation_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    # The clerk's store when the code arrived: a clerk who moves later keeps the credit with the store they were at.
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    relation: Mapped[str] = mapped_column(String(16))


class ReferralLead(Base):
    """The first touch of a LINE user who was not a member yet: who gets the credit if they join or bind.
    One per LINE user (the unique key keeps the first touch even when two codes arrive at once)."""

    __tablename__ = "referral_leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_user_id: Mapped[int] = mapped_column(ForeignKey("line_users.id"), unique=True)
    touch_id: Mapped[int] = mapped_column(ForeignKey("referral_touches.id"), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    at: Mapped[datetime]
    new_friend: Mapped[bool] = mapped_column(default=False)


class ReferralAttribution(Base):
    """A member credited to the clerk and store of their first touch, when they joined or bound: once per member.
    Their purchases count for that clerk for REFERRAL_CREDIT_DAYS from `at`."""

    __tablename__ = "referral_attributions"
    __table_args__ = (CheckConstraint("kind IN ('join', 'bind')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("referral_leads.id"), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(index=True)
