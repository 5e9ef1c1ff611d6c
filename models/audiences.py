"""What segments select on besides members and purchases: the product catalogue (a purchase line's SKU to its
category), member tags (manual, or kept by a rule) with their append-only history, and the stored RFM groups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin


class Product(TimestampMixin, Base):
    """A product of the catalogue: purchase lines carry its SKU; segments select on its category."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), index=True)
    updated_at: Mapped[datetime]
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class Tag(TimestampMixin, Base):
    """A member tag: `manual` (marketers add and remove it) or `rule` (members of a saved segment, re-evaluated
    nightly and on demand). A deleted tag is archived (`deleted_at`), never removed: its history names it."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A deleted rule tag lets go of its segment when the segment is deleted.
    # Unique among the tags not deleted (uq_tags_name_live): a deleted tag's name can be used again.
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(8))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    last_evaluated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    deleted_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    __table_args__ = (
        Index(
            "uq_tags_name_live",
            "name",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        CheckConstraint("kind IN ('manual', 'rule')", name="kind_known"),
        CheckConstraint(
            "(kind = 'rule' AND (segment_id IS NOT NULL OR deleted_at IS NOT NULL))"
            " OR (kind = 'manual' AND segment_id IS NULL)",
            name="rule_has_segment",
        ),
    )


class MemberTag(Base):
    """A tag a member has now (at most once); how it came and went is in member_tag_events."""

    __tablename__ = "member_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"))
    added_at: Mapped[datetime]
    added_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))

    __table_args__ = (
        UniqueConstraint("member_id", "tag_id", name="uq_member_tags_member_id_tag_id"),
        # The `tags` condition: the members holding any of some tags.
        Index("ix_member_tags_tag_id_member_id", "tag_id", "member_id"),
    )


class TagEvaluation(Base):
    """One re-evaluation of a rule tag: when, by whom (none: the nightly job), members matched, gained and lost."""

    __tablename__ = "tag_evaluations"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), index=True)
    at: Mapped[datetime]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    matched: Mapped[int]
    gained: Mapped[int]
    lost: Mapped[int]


class MemberTagEvent(Base):
    """A tag added to or removed from a member: by whom (staff, or none for a rule), how and when. Append-only."""

    __tablename__ = "member_tag_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), index=True)
    # add | remove
    action: Mapped[str] = mapped_column(String(8))
    # manual (one member) | segment (a segment's members at once) | rule (a rule tag's evaluation)
    source: Mapped[str] = mapped_column(String(8))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("tag_evaluations.id"))
    at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("action IN ('add', 'remove')", name="action_known"),
        CheckConstraint("source IN ('manual', 'segment', 'rule')", name="source_known"),
    )


class MemberRfm(Base):
    """A member's RFM scores (1-5 quintiles among members who bought in the last 365 days) and named group, as the
    nightly job last computed them; members without a purchase in that year have no row."""

    __tablename__ = "member_rfm"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    recency: Mapped[int]
    frequency: Mapped[int]
    monetary: Mapped[int]
    rfm_group: Mapped[str] = mapped_column(String(16), index=True)
    last_purchase_at: Mapped[datetime]
    purchases: Mapped[int]
    spend: Mapped[int]
    computed_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("recency BETWEEN 1 AND 5", name="recency_score"),
        CheckConstraint("frequency BETWEEN 1 AND 5", name="frequency_score"),
        CheckConstraint("monetary BETWEEN 1 AND 5", name="monetary_score"),
    )
