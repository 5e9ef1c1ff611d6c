"""Member tags: manual tags a marketer adds and removes (one member, or a saved segment's members at once) and rule
tags that follow a saved segment (re-evaluated by the nightly job and on demand). Every addition and removal is an
append-only member_tag_events row (who, how, when); a rule tag's evaluation also records how many it gained and lost.

A tag can be renamed, and deleted: a deleted tag is archived (`deleted_at`), not removed, so the events that name it
stay; its members lose it (one "remove" event each) and it leaves every list and picker. A tag a saved segment's
conditions name cannot be deleted (the segment would silently change whom it selects); should a segment name a
deleted tag all the same (saved at the same moment), evaluating it is refused in words (segments.py). Creating,
renaming and deleting a tag are written to the audit log.

Bulk changes are set-based INSERT ... SELECT / DELETE statements over the segment's select: nothing loops over
members in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, and_, delete, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from bot.services.marketing.definition import DefinitionError
from bot.services.marketing.segments import members_matching, segments_naming_tag
from bot.services.staff.audit import record_change
from models import Member, MemberTag, MemberTagEvent, Segment, Staff, Tag, TagEvaluation

MAX_NAME = 50
NAME_REQUIRED = "請輸入標籤名稱（最多 50 個字，不能有控制字元）"
NAME_TAKEN = "已經有同名的標籤，請換一個名稱"
RULE_NEEDS_SEGMENT = "自動標籤請選擇一個分群"
RULE_TAG_IS_AUTOMATIC = "「{name}」是自動標籤，會員由分群條件決定，不能手動加上或移除"
MEMBER_NOT_FOUND = "找不到會員編號 {number}"
ALREADY_TAGGED = "會員 {number} 已經有標籤「{name}」"
NOT_TAGGED = "會員 {number} 沒有標籤「{name}」"
TAG_GONE = "標籤「{name}」已經刪除"
TAG_IN_USE = "分群「{segments}」的條件用到標籤「{name}」，請先修改這些分群，再刪除標籤"
EVENT_COLUMNS = ["member_id", "tag_id", "action", "source", "staff_id", "evaluation_id", "at"]


class TagError(ValueError):
    """A tag change that cannot be made: `message` is a zh-TW catalogue msgid, `params` fill its placeholders."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class TagRow:
    """A tag as the tags page lists it."""

    tag: Tag
    members: int
    last: TagEvaluation | None


def live() -> Any:
    """The condition that selects the tags not deleted."""
    return Tag.deleted_at.is_(None)


def _clean_name(session: Session, name: str, tag_id: int | None = None) -> str:
    """A tag's name with its whitespace collapsed: 1-50 characters, no control character (nor a lone surrogate),
    not the name of another tag that is not deleted."""
    clean = " ".join((name or "").split())
    if (
        not clean
        or len(clean) > MAX_NAME
        or any(ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) < 0xE000 for c in clean)
    ):
        raise TagError(NAME_REQUIRED)
    taken = select(Tag.id).where(Tag.name == clean, live())
    if tag_id is not None:
        taken = taken.where(Tag.id != tag_id)
    if session.scalar(taken) is not None:
        raise TagError(NAME_TAKEN)
    return clean


def create_tag(session: Session, staff: Staff, name: str, segment: Segment | None, at: datetime) -> Tag:
    """A new tag: manual (segment None) or a rule tag following `segment` (evaluated when asked or at night)."""
    tag = Tag(
        name=_clean_name(session, name),
        kind="manual" if segment is None else "rule",
        segment_id=segment.id if segment else None,
        created_by_staff_id=staff.id,
    )
    tag.created_at = at
    session.add(tag)
    session.flush()
    record_change(session, staff, "tag.create", tag, at, name=tag.name)
    return tag


def rename_tag(session: Session, staff: Staff, tag: Tag, name: str, at: datetime) -> bool:
    """Rename a tag (validated as a new tag's name; TagError and nothing saved when refused), audited with its old
    name; False when the name is the same. Members keep it; its history shows the new name."""
    clean = _clean_name(session, name, tag.id)
    if clean == tag.name:
        return False
    old, tag.name = tag.name, clean
    session.flush()
    record_change(session, staff, "tag.rename", tag, at, name=clean, renamed_from=old)
    return True


def delete_tag(session: Session, staff: Staff, tag: Tag, at: datetime) -> int:
    """Delete (archive) a tag: every member holding it loses it, each with a "remove" event by `staff`; the tag
    leaves every list and picker but stays in the history. TagError (TAG_IN_USE, nothing changed) while a saved
    segment's conditions name it. Audited with its name and how many members lost it; returns that number."""
    using = segments_naming_tag(session, tag.id)
    if using:
        raise TagError(TAG_IN_USE, name=tag.name, segments="」「".join(segment.name for segment in using))
    holding = MemberTag.tag_id == tag.id
    removals = select(
        MemberTag.member_id,
        literal(tag.id),
        literal("remove"),
        literal("manual"),
        literal(staff.id, Integer),
        literal(None, Integer),
        literal(at, MemberTagEvent.at.type),
    ).where(holding)
    members = session.scalar(select(func.count()).select_from(MemberTag).where(holding)) or 0
    session.execute(insert(MemberTagEvent).from_select(EVENT_COLUMNS, removals))
    session.execute(delete(MemberTag).where(holding))
    tag.deleted_at, tag.deleted_by_staff_id = at, staff.id
    session.flush()
    followed = session.get(Segment, tag.segment_id) if tag.segment_id else None
    detail = {"segment": followed.name} if followed else {}
    record_change(session, staff, "tag.delete", tag, at, name=tag.name, members=members, **detail)
    return members


def list_tags(session: Session) -> list[TagRow]:
    """Every tag not deleted by name, with how many members hold it and its latest evaluation (rule tags)."""
    counts = {
        tag_id: n for tag_id, n in session.execute(select(MemberTag.tag_id, func.count()).group_by(MemberTag.tag_id))
    }
    latest = select(func.max(TagEvaluation.id)).group_by(TagEvaluation.tag_id)
    evaluations = {e.tag_id: e for e in session.scalars(select(TagEvaluation).where(TagEvaluation.id.in_(latest)))}
    return [
        TagRow(tag, counts.get(tag.id, 0), evaluations.get(tag.id))
        for tag in session.scalars(select(Tag).where(live()).order_by(Tag.name))
    ]


def find_member(session: Session, number: str) -> Member:
    """The (not erased) member with this member number, or TagError."""
    clean = (number or "").strip().upper()
    member = (
        session.scalar(select(Member).where(Member.member_number == clean, Member.erased_at.is_(None)))
        if 0 < len(clean) <= 32
        else None
    )
    if member is None:
        raise TagError(MEMBER_NOT_FOUND, number=clean[:32] or "—")
    return member


def tags_of(session: Session, member: Member) -> list[tuple[Tag, MemberTag]]:
    """The tags a member holds now, by name."""
    query = (
        select(Tag, MemberTag)
        .join(MemberTag, MemberTag.tag_id == Tag.id)
        .where(MemberTag.member_id == member.id, live())
    )
    return sorted(((tag, held) for tag, held in session.execute(query)), key=lambda row: row[0].name)


def history_of(session: Session, member: Member, limit: int = 50) -> list[MemberTagEvent]:
    """The member's tag additions and removals, newest first."""
    query = select(MemberTagEvent).where(MemberTagEvent.member_id == member.id)
    return list(session.scalars(query.order_by(MemberTagEvent.id.desc()).limit(limit)))


def _manual(tag: Tag) -> None:
    if tag.deleted_at is not None:
        raise TagError(TAG_GONE, name=tag.name)
    if tag.kind != "manual":
        raise TagError(RULE_TAG_IS_AUTOMATIC, name=tag.name)


def add_tag(session: Session, staff: Staff, tag: Tag, member: Member, at: datetime) -> None:
    """Give one member a manual tag (TagError if they have it already, or the tag is a rule tag)."""
    _manual(tag)
    held = select(MemberTag.id).where(MemberTag.member_id == member.id, MemberTag.tag_id == tag.id)
    if session.scalar(held) is not None:
        raise TagError(ALREADY_TAGGED, number=member.member_number, name=tag.name)
    session.add(MemberTag(member_id=member.id, tag_id=tag.id, added_at=at, added_by_staff_id=staff.id))
    session.add(
        MemberTagEvent(member_id=member.id, tag_id=tag.id, action="add", source="manual", staff_id=staff.id, at=at)
    )
    session.flush()


def remove_tag(session: Session, staff: Staff, tag: Tag, member: Member, at: datetime) -> None:
    """Take a manual tag off one member (TagError if they do not have it, or the tag is a rule tag)."""
    _manual(tag)
    held = session.scalar(select(MemberTag).where(MemberTag.member_id == member.id, MemberTag.tag_id == tag.id))
    if held is None:
        raise TagError(NOT_TAGGED, number=member.member_number, name=tag.name)
    session.delete(held)
    session.add(
        MemberTagEvent(member_id=member.id, tag_id=tag.id, action="remove", source="manual", staff_id=staff.id, at=at)
    )
    session.flush()


def _add_many(
    session: Session, tag: Tag, ids: Select[Any], staff: Staff | None, source: str, at: datetime, evaluation: int | None
) -> int:
    """Tag every member of the select `ids` who does not have the tag yet; returns how many were tagged."""
    chosen = ids.subquery()
    new = and_(
        Member.id.in_(select(chosen.c[0])),
        ~exists().where(MemberTag.member_id == Member.id, MemberTag.tag_id == tag.id),
    )
    staff_id = literal(staff.id if staff else None, Integer)
    stamp = literal(at, MemberTagEvent.at.type)
    events = select(
        Member.id, literal(tag.id), literal("add"), literal(source), staff_id, literal(evaluation, Integer), stamp
    ).where(new)
    # Counted first: psycopg does not report an INSERT ... SELECT's row count here.
    added = session.scalar(select(func.count()).select_from(Member).where(new)) or 0
    session.execute(insert(MemberTagEvent).from_select(EVENT_COLUMNS, events))
    rows = select(Member.id, literal(tag.id), stamp, staff_id).where(new)
    session.execute(insert(MemberTag).from_select(["member_id", "tag_id", "added_at", "added_by_staff_id"], rows))
    return added


def tag_segment(session: Session, staff: Staff, tag: Tag, segment: Segment, at: datetime, tz: ZoneInfo) -> int:
    """Give a manual tag to every current member of a saved segment (evaluated now); returns how many did not
    have it before. DefinitionError if the segment's definition no longer validates."""
    _manual(tag)
    ids = members_matching(session, segment.definition, at, tz)
    return _add_many(session, tag, ids, staff, "segment", at, None)


def evaluate_rule_tag(
    session: Session, tag: Tag, at: datetime, tz: ZoneInfo, staff: Staff | None = None
) -> TagEvaluation:
    """Bring a rule tag in line with its segment now: members who match and lack it gain it, members who hold it
    and no longer match lose it; both are recorded with the evaluation (staff None: the nightly job)."""
    if tag.deleted_at is not None:
        raise TagError(TAG_GONE, name=tag.name)
    segment = session.get(Segment, tag.segment_id) if tag.segment_id else None
    if segment is None:
        raise TagError(RULE_NEEDS_SEGMENT)
    matching = members_matching(session, segment.definition, at, tz)
    evaluation = TagEvaluation(tag_id=tag.id, at=at, staff_id=staff.id if staff else None, matched=0, gained=0, lost=0)
    session.add(evaluation)
    session.flush()
    holders = select(MemberTag.member_id).where(MemberTag.tag_id == tag.id)
    # NOT EXISTS rather than NOT IN: a large segment does not have to fit in memory as a hashed list.
    matched = matching.subquery()
    leaving = and_(MemberTag.tag_id == tag.id, ~exists().where(matched.c[0] == MemberTag.member_id))
    stamp = literal(at, MemberTagEvent.at.type)
    removals = select(
        MemberTag.member_id,
        literal(tag.id),
        literal("remove"),
        literal("rule"),
        literal(None, Integer),
        literal(evaluation.id),
        stamp,
    ).where(leaving)
    lost = session.scalar(select(func.count()).select_from(MemberTag).where(leaving)) or 0
    session.execute(insert(MemberTagEvent).from_select(EVENT_COLUMNS, removals))
    session.execute(delete(MemberTag).where(leaving))
    gained = _add_many(session, tag, matching, None, "rule", at, evaluation.id)
    evaluation.matched = session.scalar(select(func.count()).select_from(holders.subquery())) or 0
    evaluation.gained, evaluation.lost = gained, lost
    tag.last_evaluated_at = at
    session.flush()
    return evaluation


def evaluate_rule_tags(session: Session, at: datetime, tz: ZoneInfo) -> list[TagEvaluation]:
    """Evaluate every rule tag (the nightly job); a tag whose segment no longer validates is skipped."""
    done = []
    for tag in session.scalars(select(Tag).where(Tag.kind == "rule", live()).order_by(Tag.id)):
        try:
            with session.begin_nested():
                done.append(evaluate_rule_tag(session, tag, at, tz))
        except DefinitionError:
            continue
    return done
