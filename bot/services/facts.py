"""Domain facts: what happened, recorded by services in the unit of work and turned into messages by the dispatcher.

A service never writes a chat message or calls LINE. It records a fact (`record(session, fact)`) in the transaction
that made it true; when the unit of work commits, the dispatcher (bot/dispatch.py) renders each fact with the chat
package into outbox rows in the same transaction, and the delivery is queued once the commit has succeeded. A fact
recorded in a transaction that rolls back is forgotten with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

FACTS_KEY = "omo.facts"


@dataclass(frozen=True)
class Fact:
    """Something that happened to a member that they may need to hear about."""


@dataclass(frozen=True)
class MemberJoined(Fact):
    member_id: int
    welcome_points: int


@dataclass(frozen=True)
class MembershipChanged(Fact):
    """A LINE user became or stopped being a member (join, bind, unbind, erasure): their rich menu changes."""

    line_user_id: str


@dataclass(frozen=True)
class StampCardFilled(Fact):
    member_id: int
    card_id: int
    reward_coupon_id: int | None


@dataclass(frozen=True)
class TierChanged(Fact):
    member_id: int
    from_tier: str
    to_tier: str
    upgrade: bool


@dataclass(frozen=True)
class CouponIssued(Fact):
    coupon_id: int
    source: str


@dataclass(frozen=True)
class CouponExpiring(Fact):
    """An unused coupon's last day is near; said once per coupon (the outbox row is keyed by it)."""

    coupon_id: int


@dataclass(frozen=True)
class PointsExpiring(Fact):
    member_id: int
    points: int
    expires_on: date


def record(session: Session, fact: Fact) -> None:
    """Record a fact in the session's unit of work; the dispatcher sees it at commit."""
    session.info.setdefault(FACTS_KEY, []).append(fact)


def recorded(session: Session) -> list[Fact]:
    """The facts recorded so far in this session's transaction."""
    facts: list[Fact] = session.info.get(FACTS_KEY, [])
    return facts


def forget(session: Session) -> list[Fact]:
    """Take the recorded facts off the session (after dispatching them, or when the transaction rolled back)."""
    facts: list[Fact] = session.info.pop(FACTS_KEY, [])
    return facts
