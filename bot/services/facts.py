"""Domain facts: what happened, recorded by services in the unit of work and turned into messages by the dispatcher.

A service never writes a chat message or calls LINE. It records a fact (`record(session, fact)`) in the transaction
that made it true; when the unit of work commits, the dispatcher (bot/dispatch.py) renders each fact with the chat
package into outbox rows in the same transaction, and the delivery is queued once the commit has succeeded. A fact
recorded in a transaction that rolls back is forgotten with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

FACTS_KEY = "omo.facts"


@dataclass(frozen=True)
class Fact:
    """Something that happened that someone may need to hear about."""


@dataclass(frozen=True)
class MemberFact(Fact):
    """Something that happened to a member: the dispatcher tells them, when they can hear from the bot."""

    member_id: int


@dataclass(frozen=True)
class MemberJoined(MemberFact):
    welcome_points: int


@dataclass(frozen=True)
class MembershipChanged(Fact):
    """A LINE user became or stopped being a member (join, bind, unbind, erasure): their rich menu changes."""

    line_user_id: str


@dataclass(frozen=True)
class StampCardFilled(MemberFact):
    card_id: int
    reward_coupon_id: int | None


@dataclass(frozen=True)
class TierChanged(MemberFact):
    from_tier: str
    to_tier: str
    upgrade: bool


@dataclass(frozen=True)
class CouponIssued(MemberFact):
    coupon_id: int
    source: str


@dataclass(frozen=True)
class CouponExpiring(MemberFact):
    """An unused coupon's last day is near; said once per coupon (the outbox row is keyed by it)."""

    coupon_id: int


@dataclass(frozen=True)
class PointsExpiring(MemberFact):
    points: int
    expires_on: date


@dataclass(frozen=True)
class CheckinStreakAtRisk(MemberFact):
    """The evening reminder: a member who asked for it has a streak that ends unless they check in today."""

    streak: int
    local_day: date


def record(session: Session, fact: Fact) -> None:
    """Record a fact in the session's unit of work; the dispatcher sees it at commit. A fact recorded inside a
    SAVEPOINT that is rolled back is forgotten with it."""
    session.info.setdefault(FACTS_KEY, []).append((fact, session.get_nested_transaction()))


def recorded(session: Session) -> list[Fact]:
    """The facts recorded so far in this session's transaction."""
    return [fact for fact, _savepoint in session.info.get(FACTS_KEY, [])]


def forget(session: Session) -> list[Fact]:
    """Take the recorded facts off the session (after dispatching them, or when the transaction rolled back)."""
    return [fact for fact, _savepoint in session.info.pop(FACTS_KEY, [])]


def _inside(savepoint: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_savepoint(session: Session, previous_transaction: SessionTransaction) -> None:
    """What a rolled-back SAVEPOINT did never happened: neither did the facts recorded inside it."""
    if not previous_transaction.nested or FACTS_KEY not in session.info:
        return
    session.info[FACTS_KEY] = [
        (fact, savepoint) for fact, savepoint in session.info[FACTS_KEY] if not _inside(savepoint, previous_transaction)
    ]
