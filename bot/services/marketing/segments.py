"""Segments: a definition (definition.py) compiled to ONE select of member ids, evaluated at a given instant in
the brand's time zone; the audience a marketing send may reach; and saving, renaming and deleting segments.

Every condition is a set-based clause on `members.id` (IN / NOT IN over a grouped subquery, or a column test), so
the database does the work on SQLite and PostgreSQL alike and nothing loops over members in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    and_,
    any_,
    case,
    exists,
    extract,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.services.marketing.definition import DefinitionError, condition_kinds, parse_definition
from bot.services.refusals import Reason, Refused
from bot.services.staff.audit import record_change
from models import (
    Campaign,
    Checkin,
    Consent,
    Coupon,
    LineUser,
    Member,
    MemberBalance,
    MemberRfm,
    MemberTag,
    Product,
    Purchase,
    ReferralAttribution,
    Segment,
    Staff,
    StampCard,
    Tag,
)

MAX_NAME = 100
NAME_REQUIRED = "請輸入分群名稱（最多 100 個字）"
NAME_TAKEN = "已經有同名的分群，請換一個名稱"
NAME_CONTROL = "分群名稱不能包含控制字元"
TAG_DELETED = "條件用到的標籤「{name}」已經刪除，這個分群目前不選任何會員；請修改條件"
SAMPLE_SIZE = 10
# Conditions on a member's own rows, each a correlated probe of one index per member (a member's purchases by time,
# their consents by id): cheap for the members other conditions leave, where a period's aggregate over every member
# would hash millions of purchases.
MemberId: TypeAlias = ColumnElement[int] | InstrumentedAttribute[int]
PER_MEMBER = frozenset({"spend", "visits", "avg_basket", "last_visit", "marketing_consent"})


@dataclass(frozen=True)
class _Context:
    at: datetime
    tz: ZoneInfo
    dialect: str

    def day_start(self, day: date) -> datetime:
        """The instant a brand-local day begins."""
        return datetime.combine(day, time(), self.tz)

    def today(self) -> date:
        return self.at.astimezone(self.tz).date()

    def period_start(self, days: int) -> datetime:
        """The start of the last `days` brand-local days, today included."""
        return self.day_start(self.today() - timedelta(days=days - 1))


def _in_range(value: Any, low: int | None, high: int | None) -> ColumnElement[bool]:
    clauses = []
    if low is not None:
        clauses.append(value >= low)
    if high is not None:
        clauses.append(value <= high)
    return and_(*clauses)


def _range_includes_zero(cond: dict[str, Any]) -> bool:
    return (cond["min"] is None or cond["min"] <= 0) and (cond["max"] is None or cond["max"] >= 0)


def _purchases_in(ctx: _Context, days: int) -> ColumnElement[bool]:
    return and_(Purchase.created_at >= ctx.period_start(days), Purchase.created_at <= ctx.at)


def _per_member(ctx: _Context, cond: dict[str, Any], member_id: MemberId) -> ColumnElement[bool]:
    """A condition on a member's own purchases or consents, as a correlated probe of one index per member (see
    PER_MEMBER)."""
    kind = cond["type"]
    if kind == "marketing_consent":
        latest = _latest_opt_in(member_id)
        return latest.is_(True) if cond["value"] else latest.is_not(True)
    if kind == "last_visit":
        value: Any = (
            select(func.max(Purchase.created_at))
            .where(Purchase.member_id == member_id, Purchase.created_at <= ctx.at)
            .scalar_subquery()
        )
        bounds: list[ColumnElement[bool]] = []
        if cond["since"]:
            bounds.append(value >= ctx.day_start(date.fromisoformat(cond["since"])))
        if cond["before"]:
            bounds.append(value < ctx.day_start(date.fromisoformat(cond["before"])))
        return and_(*bounds)
    net = func.sum(Purchase.amount - Purchase.refunded_amount)
    aggregate: ColumnElement[Any]
    if kind == "spend":
        aggregate = func.coalesce(net, 0)  # no purchase in the period counts as 0
    elif kind == "visits":
        aggregate = func.count(Purchase.id)
    else:  # avg_basket: no purchase, no average (NULL is in no range)
        aggregate = net / func.count(Purchase.id)
    in_period = and_(Purchase.member_id == member_id, _purchases_in(ctx, cond["days"]))
    return _in_range(select(aggregate).where(in_period).scalar_subquery(), cond["min"], cond["max"])


def _latest_opt_in(member_id: MemberId) -> ScalarSelect[bool]:
    """The marketing answer of the member's latest consent record (NULL: no record)."""
    return (
        select(Consent.marketing_opt_in)
        .where(Consent.member_id == member_id)
        .order_by(Consent.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _marketing_opt_in() -> ColumnElement[bool]:
    """Whether the member's latest consent record says yes to marketing (no record: no)."""
    return _latest_opt_in(Member.id).is_(True)


def _bought(ctx: _Context, skus: list[str]) -> ColumnElement[bool]:
    if ctx.dialect == "postgresql":
        # Containment on jsonb: true for an array holding an item with this sku, false for anything else.
        has_sku = or_(*(Purchase.items.op("@>")(literal([{"sku": sku}], JSONB)) for sku in skus))
    else:
        items = func.json_each(Purchase.items).table_valued("value")
        has_sku = exists(select(1).select_from(items).where(func.json_extract(items.c.value, "$.sku").in_(skus)))
    return has_sku


def _bought_category(ctx: _Context, categories: list[str]) -> ColumnElement[bool]:
    """A purchase with an item whose SKU is in the catalogue under one of these categories (unknown SKUs are in
    no category)."""
    skus = select(Product.sku).where(Product.category.in_(categories))
    if ctx.dialect == "postgresql":
        # Items that are not a JSON array (none recorded) have no lines rather than failing the whole select.
        array = case(
            (func.jsonb_typeof(Purchase.items) == "array", Purchase.items), else_=literal_column("'[]'::jsonb")
        )
        lines = func.jsonb_array_elements(array).table_valued("value")
        # ARRAY(subquery) is computed once per evaluation, not once per purchase line.
        listed = lines.c.value.op("->>")("sku") == any_(func.array(skus.scalar_subquery()))
    else:
        lines = func.json_each(Purchase.items).table_valued("value")
        listed = func.json_extract(lines.c.value, "$.sku").in_(skus)
    return exists(select(1).select_from(lines).where(listed))


def _coupons(ctx: _Context, cond: dict[str, Any]) -> ColumnElement[bool]:
    query = select(Coupon.member_id).where(Coupon.voided_at.is_(None))
    if cond["template_id"] is not None:
        query = query.where(Coupon.template_id == cond["template_id"])
    usable = and_(
        Coupon.redeemed_at.is_(None),
        Coupon.valid_from <= ctx.at,
        or_(Coupon.expires_at.is_(None), Coupon.expires_at > ctx.at),
    )
    if cond["state"] == "held":
        query = query.where(usable)
    elif cond["state"] == "expiring":
        soon = ctx.at + timedelta(days=cond["days"])
        query = query.where(usable, Coupon.expires_at.is_not(None), Coupon.expires_at < soon)
    else:
        query = query.where(Coupon.redeemed_at >= ctx.period_start(cond["days"]), Coupon.redeemed_at <= ctx.at)
    return Member.id.in_(query)


def _condition(ctx: _Context, cond: dict[str, Any]) -> ColumnElement[bool]:
    kind = cond["type"]
    if kind == "tier":
        return Member.tier.in_(cond["tiers"])
    if kind == "line_bound":
        return Member.line_user_id.is_not(None) if cond["value"] else Member.line_user_id.is_(None)
    if kind in PER_MEMBER:
        return _per_member(ctx, cond, Member.id)
    if kind == "home_store":
        return Member.home_store_id.in_(cond["store_ids"])
    if kind == "visited_store":
        return Member.id.in_(
            select(Purchase.member_id).where(_purchases_in(ctx, cond["days"]), Purchase.store_id.in_(cond["store_ids"]))
        )
    if kind == "bought_sku":
        return Member.id.in_(
            select(Purchase.member_id).where(_purchases_in(ctx, cond["days"]), _bought(ctx, cond["skus"]))
        )
    if kind == "bought_category":
        return Member.id.in_(
            select(Purchase.member_id).where(
                _purchases_in(ctx, cond["days"]), _bought_category(ctx, cond["categories"])
            )
        )
    if kind == "tags":
        # Never correlated: a rule tag's evaluation runs this select inside statements on member_tags.
        return Member.id.in_(select(MemberTag.member_id).where(MemberTag.tag_id.in_(cond["tag_ids"])).correlate(None))
    if kind == "rfm_group":
        return Member.id.in_(select(MemberRfm.member_id).where(MemberRfm.rfm_group.in_(cond["groups"])))
    if kind == "stamps":
        cards = select(StampCard.member_id).where(
            StampCard.template_id == cond["template_id"], StampCard.is_open.is_(True)
        )
        if _range_includes_zero(cond):
            return Member.id.not_in(cards.where(not_(_in_range(StampCard.stamps, cond["min"], cond["max"]))))
        return Member.id.in_(cards.where(_in_range(StampCard.stamps, cond["min"], cond["max"])))
    if kind == "coupons":
        return _coupons(ctx, cond)
    if kind == "points":
        if _range_includes_zero(cond):
            outside = not_(_in_range(MemberBalance.points, cond["min"], cond["max"]))
            return Member.id.not_in(select(MemberBalance.member_id).where(outside))
        inside = _in_range(MemberBalance.points, cond["min"], cond["max"])
        return Member.id.in_(select(MemberBalance.member_id).where(inside))
    if kind == "birthday_month":
        return and_(Member.birthday.is_not(None), extract("month", Member.birthday).in_(cond["months"]))
    if kind == "joined":
        bounds = []
        if cond["since"]:
            bounds.append(Member.created_at >= ctx.day_start(date.fromisoformat(cond["since"])))
        if cond["before"]:
            bounds.append(Member.created_at < ctx.day_start(date.fromisoformat(cond["before"])))
        return and_(*bounds)
    if kind == "source":
        return Member.source.in_(cond["sources"])
    if kind == "referred_by":
        attributed = select(ReferralAttribution.member_id).where(ReferralAttribution.staff_id.in_(cond["staff_ids"]))
        return or_(Member.referred_by_staff_id.in_(cond["staff_ids"]), Member.id.in_(attributed))
    if kind == "checkin_streak":
        # A streak is alive while its last check-in was today or yesterday (brand-local).
        today = ctx.today()
        return Member.id.in_(
            select(Checkin.member_id).where(
                Checkin.local_day.in_([today, today - timedelta(days=1)]), Checkin.streak >= cond["min"]
            )
        )
    raise DefinitionError("不認得的條件種類")  # parse_definition lets no other kind through


def _only_per_member(node: dict[str, Any]) -> bool:
    return all(cond["type"] in PER_MEMBER for cond in condition_kinds(node))


def _per_member_node(ctx: _Context, node: dict[str, Any], member_id: MemberId) -> ColumnElement[bool]:
    if "all" in node:
        return and_(true(), *(_per_member_node(ctx, child, member_id) for child in node["all"]))
    if "any" in node:
        return or_(false(), *(_per_member_node(ctx, child, member_id) for child in node["any"]))
    if "not" in node:
        return not_(_per_member_node(ctx, node["not"], member_id))
    return _per_member(ctx, node, member_id)


def _narrowed_then_probed(
    ctx: _Context, children: list[dict[str, Any]], *also: ColumnElement[bool]
) -> Select[Any] | None:
    """On PostgreSQL, for an AND whose children mix member-by-member probes and other conditions: the ids of the
    members the others (and `also`) leave, evaluated first behind OFFSET 0 (which the planner does not see through),
    then probed. Otherwise PostgreSQL pushes the probes into the members scan and runs them for every member before
    its joins narrow them. None when the AND is not of that kind."""
    per_member = [c for c in children if _only_per_member(c)]
    others = [c for c in children if not _only_per_member(c)]
    if ctx.dialect != "postgresql" or not per_member or not others:
        return None
    narrowed = (
        select(Member.id.label("id"))
        .where(*also, *(_clause(ctx, child) for child in others))
        .offset(0)
        .correlate(None)
        .subquery("narrowed")
    )
    probes = (_per_member_node(ctx, child, narrowed.c.id) for child in per_member)
    return select(narrowed.c.id).where(*probes).correlate(None)


def _all(ctx: _Context, children: list[dict[str, Any]]) -> ColumnElement[bool]:
    """AND (see _narrowed_then_probed for the order PostgreSQL is given)."""
    probed = _narrowed_then_probed(ctx, children)
    if probed is None:
        return and_(true(), *(_clause(ctx, child) for child in children))
    return Member.id.in_(probed)


def _flatten(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [leaf for child in children for leaf in (_flatten(child["all"]) if "all" in child else [child])]


def _clause(ctx: _Context, node: dict[str, Any]) -> ColumnElement[bool]:
    if "all" in node:
        return _all(ctx, _flatten(node["all"]))

    if "any" in node:
        return or_(false(), *(_clause(ctx, child) for child in node["any"]))
    if "not" in node:
        return not_(_clause(ctx, node["not"]))
    return _condition(ctx, node)


def _context(session: Session, at: datetime, tz: ZoneInfo) -> _Context:
    return _Context(at=at, tz=tz, dialect=session.get_bind().dialect.name)


def _tag_ids(tree: dict[str, Any]) -> set[int]:
    return {tag_id for cond in condition_kinds(tree) if cond["type"] == "tags" for tag_id in cond["tag_ids"]}


def _refuse_deleted_tags(session: Session, tree: dict[str, Any]) -> None:
    """DefinitionError (TAG_DELETED) when a (validated) definition names a deleted tag: it would select nobody
    where it names the tag, and everybody under a NOT, neither of which its author meant."""
    ids = _tag_ids(tree)
    if ids:
        deleted = session.scalar(
            select(Tag.name).where(Tag.id.in_(ids), Tag.deleted_at.is_not(None)).order_by(Tag.name).limit(1)
        )
        if deleted is not None:
            raise DefinitionError(TAG_DELETED, name=deleted)


def _names_tag(definition: Any, tag_id: int) -> bool:
    """Whether any `tags` condition anywhere in a stored definition names the tag (read as stored, without
    validating it: one that no longer validates still counts)."""
    stack = [definition]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ids = item.get("tag_ids")
            if item.get("type") == "tags" and isinstance(ids, list) and tag_id in ids:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def segments_naming_tag(session: Session, tag_id: int) -> list[Segment]:
    """The saved segments whose conditions name a tag, by name."""
    return [segment for segment in list_segments(session) if _names_tag(segment.definition, tag_id)]


def members_matching(session: Session, definition: Any, at: datetime, tz: ZoneInfo) -> Select[Any]:
    """The ids of the (not erased) members a definition matches at `at` (brand-local days in `tz`), as one
    select; raises DefinitionError for a definition that does not validate or names a deleted tag."""
    tree = parse_definition(definition)
    _refuse_deleted_tags(session, tree)
    ctx = _context(session, at, tz)
    if "all" in tree:
        # The narrowed-then-probed select is the answer itself: no second pass over members to intersect with it.
        probed = _narrowed_then_probed(ctx, _flatten(tree["all"]), Member.erased_at.is_(None))
        if probed is not None:
            return probed
    return select(Member.id).where(Member.erased_at.is_(None), _clause(ctx, tree))


def marketing_reachable() -> ColumnElement[bool]:
    """What every marketing send requires of a member: not erased, bound to a LINE user who has not blocked the
    account, and their latest consent says yes to marketing."""
    return and_(
        Member.erased_at.is_(None),
        Member.line_user_id.is_not(None),
        LineUser.is_blocked.is_(False),
        _marketing_opt_in(),
    )


def audience_for_marketing(
    session: Session, segment: Segment | dict[str, Any], at: datetime, tz: ZoneInfo
) -> Select[int, str]:
    """(member id, LINE user id) of everyone a marketing send to this segment (or bare definition) may reach at
    `at`: the segment's members less the erased, the unbound, those who blocked the account and those without
    marketing consent. Evaluated afresh on every call; ordered by member id."""
    definition = segment.definition if isinstance(segment, Segment) else segment
    tree = parse_definition(definition)
    _refuse_deleted_tags(session, tree)
    ctx = _context(session, at, tz)
    # Consent is one more condition of the segment, so it is probed only for the members the rest leaves.
    consenting = {"all": [tree, {"type": "marketing_consent", "value": True}]}
    probed = _narrowed_then_probed(
        ctx, _flatten(consenting["all"]), Member.erased_at.is_(None), Member.line_user_id.is_not(None)
    )
    if probed is not None:
        ids = probed.subquery("audience")
        return (
            select(Member.id, LineUser.line_user_id)
            .select_from(ids)
            .join(Member, Member.id == ids.c.id)
            .join(LineUser, LineUser.id == Member.line_user_id)
            .where(LineUser.is_blocked.is_(False))
            .order_by(Member.id)
        )
    return (
        select(Member.id, LineUser.line_user_id)
        .join(LineUser, LineUser.id == Member.line_user_id)
        .where(
            Member.erased_at.is_(None),
            Member.line_user_id.is_not(None),
            LineUser.is_blocked.is_(False),
            _clause(ctx, consenting),
        )
        .order_by(Member.id)
    )


def count(session: Session, query: Select[int] | Select[int, str]) -> int:
    """How many rows a segment select (members_matching or audience_for_marketing) gives."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


@dataclass(frozen=True)
class SampleMember:
    """One member of a sample, safe to show a marketer: masked name and member number only."""

    member_number: str
    masked_name: str
    tier: str


def mask_name(name: str | None) -> str:
    """A name with all but its first and last character hidden (林怡君 → 林*君, 林君 → 林*)."""
    if not name:
        return "—"
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def sample(session: Session, query: Select[int] | Select[int, str], n: int = SAMPLE_SIZE) -> list[SampleMember]:
    """Up to `n` members of a segment select (its first column is the member id), newest members first."""
    ids = query.order_by(None).with_only_columns(query.selected_columns[0]).subquery()
    rows = session.execute(
        select(Member.member_number, Member.name, Member.tier)
        .where(Member.id.in_(select(ids.c[0])))
        .order_by(Member.id.desc())
        .limit(n)
    )
    return [SampleMember(number, mask_name(name), tier) for number, name, tier in rows]


# Saving, renaming and deleting.


def _clean_name(session: Session, name: str, segment_id: int | None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise DefinitionError(NAME_REQUIRED)
    if not name.isprintable():  # NUL, other control characters (PostgreSQL cannot store a NUL at all)
        raise DefinitionError(NAME_CONTROL)
    taken = select(Segment.id).where(Segment.name == name)
    if segment_id is not None:
        taken = taken.where(Segment.id != segment_id)
    if session.scalar(taken) is not None:
        raise DefinitionError(NAME_TAKEN)
    return name


def create_segment(session: Session, staff: Staff, name: str, definition: Any, at: datetime) -> Segment:
    """Save a new segment (name unique, definition validated), audited; DefinitionError when either is wrong."""
    clean = _clean_name(session, name, None)
    tree = parse_definition(definition)
    _refuse_deleted_tags(session, tree)
    segment = Segment(
        name=clean, definition=tree, created_by_staff_id=staff.id, updated_by_staff_id=staff.id, updated_at=at
    )
    segment.created_at = at
    session.add(segment)
    session.flush()
    record_change(session, staff, "segment.create", segment, at, name=clean)
    return segment


def update_segment(session: Session, staff: Staff, segment: Segment, name: str, definition: Any, at: datetime) -> None:
    """Rename a segment and/or change its definition, audited (the audit notes what changed)."""
    clean = _clean_name(session, name, segment.id)
    tree = parse_definition(definition)
    _refuse_deleted_tags(session, tree)
    changed: dict[str, Any] = {}
    if clean != segment.name:
        changed["renamed_from"] = segment.name
    if tree != segment.definition:
        changed["conditions_changed"] = True
    if not changed:
        return
    segment.name, segment.definition = clean, tree
    segment.updated_at, segment.updated_by_staff_id = at, staff.id
    record_change(session, staff, "segment.update", segment, at, name=clean, **changed)


def delete_segment(session: Session, staff: Staff, segment: Segment, at: datetime) -> None:
    """Delete a saved segment, audited with its name; SEGMENT_IN_USE while a campaign was made for it (the campaign
    keeps what it was sent to), SEGMENT_USED_BY_TAG while a rule tag (not deleted) follows it."""
    if session.scalar(select(Campaign.id).where(Campaign.segment_id == segment.id).limit(1)) is not None:
        raise Refused(Reason.SEGMENT_IN_USE, name=segment.name)
    following = select(Tag.id).where(Tag.segment_id == segment.id, Tag.deleted_at.is_(None)).limit(1)
    if session.scalar(following) is not None:
        raise Refused(Reason.SEGMENT_USED_BY_TAG, name=segment.name)
    # Deleted rule tags that followed it let go of it (the audit of their deletion names it).
    session.execute(update(Tag).where(Tag.segment_id == segment.id).values(segment_id=None))
    record_change(session, staff, "segment.delete", segment, at, name=segment.name)
    session.delete(segment)


def list_segments(session: Session) -> list[Segment]:
    """Every saved segment, by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name)))
