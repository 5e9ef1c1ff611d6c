"""Helpers for the campaign tests: members who may receive marketing, a saved segment and a campaign."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.services.marketing import campaigns
from bot.services.marketing.campaigns import Draft
from models import Campaign, Consent, LineUser, Member, Segment

TAIPEI = ZoneInfo("Asia/Taipei")
EVERYONE = {"type": "tier", "tiers": ["regular", "silver", "gold"]}


def consenting_members(
    sessions: sessionmaker[Session], n: int, *, prefix: str = "U", names: list[str] | None = None
) -> list[tuple[int, str]]:
    """`n` bound members (LINE users not blocked) whose consent says yes to marketing: (member id, LINE user id)."""
    made = []
    with transaction(sessions) as session:
        start = session.query(Member).count()
        for i in range(n):
            number = start + i + 1
            line_user = LineUser(line_user_id=f"{prefix}{number:032x}", display_name=f"好友{number}")
            session.add(line_user)
            session.flush()
            name = names[i] if names else f"會員{number}"
            member = Member(member_number=f"C{number:07d}", name=name, line_user_id=line_user.id)
            session.add(member)
            session.flush()
            session.add(
                Consent(
                    member_id=member.id, terms_version="v1", privacy_version="v1", marketing_opt_in=True, channel="line"
                )
            )
            made.append((member.id, line_user.line_user_id))
    return made


def make_segment(sessions: sessionmaker[Session], name: str = "全部會員", definition: Any = None) -> int:
    with transaction(sessions) as session:
        existing = session.scalars(select(Segment.id).where(Segment.name == name)).first()
        if existing is not None:
            return existing
        segment = Segment(name=name, definition=definition or EVERYONE, updated_at=datetime.now(TAIPEI))
        session.add(segment)
        session.flush()
        return segment.id


def make_campaign(sessions: sessionmaker[Session], at: datetime, **fields: Any) -> int:
    """A campaign to the segment `segment_id` (a new everyone segment unless given), saying a text by default."""
    values: dict[str, Any] = {
        "name": "週年慶",
        "segment_id": fields.pop("segment_id", None) or make_segment(sessions),
        "variants": [{"kind": "text", "text": "週年慶全面 85 折"}],
        **fields,
    }
    with transaction(sessions) as session:
        return campaigns.create_campaign(session, Draft(**values), staff_id=None, at=at).id


def campaign(session: Session, campaign_id: int) -> Campaign:
    found = session.get(Campaign, campaign_id)
    assert found is not None
    return found


def many_consenting_members(sessions: sessionmaker[Session], n: int) -> list[str]:
    """`n` bound, consenting members written 10,000 rows a statement (for the 100,000-member tests); their LINE user
    ids ("U" + 32 hex digits of their number), in member order."""
    from sqlalchemy import insert

    from models import Consent as ConsentRow

    user_ids = [f"U{number:032x}" for number in range(1, n + 1)]
    with transaction(sessions) as session:
        step = 10_000
        for start in range(0, n, step):
            part = user_ids[start : start + step]
            session.execute(insert(LineUser.__table__), [{"line_user_id": u, "display_name": "好友"} for u in part])
        line_ids = dict(session.execute(select(LineUser.line_user_id, LineUser.id)).tuples().all())
        for start in range(0, n, step):
            rows = [
                {"member_number": f"C{start + i + 1:08d}", "name": f"會員{start + i + 1}", "line_user_id": line_ids[u]}
                for i, u in enumerate(user_ids[start : start + step])
            ]
            session.execute(insert(Member.__table__), rows)
        member_ids = list(session.scalars(select(Member.id).order_by(Member.id)))
        consent = {"terms_version": "v1", "privacy_version": "v1", "marketing_opt_in": True, "channel": "line"}
        for start in range(0, n, step):
            part = member_ids[start : start + step]
            session.execute(insert(ConsentRow.__table__), [{"member_id": m, **consent} for m in part])
    return user_ids
