"""Segments: product catalogue, member tags (manual and automatic) with their audit trail, and stored RFM groups
(issue 14)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 12:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=nullable)


def _staff(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["staff.id"], name=op.f(f"fk_{table}_{column}_staff"))


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        _at("updated_at"),
        sa.Column("updated_by_staff_id", sa.Integer(), nullable=True),
        _at("created_at"),
        _staff("products", "updated_by_staff_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
    )
    op.create_index(op.f("ix_products_category"), "products", ["category"], unique=False)
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("created_by_staff_id", sa.Integer(), nullable=True),
        _at("last_evaluated_at", nullable=True),
        _at("created_at"),
        sa.CheckConstraint("kind IN ('manual', 'rule')", name=op.f("ck_tags_kind_known")),
        sa.CheckConstraint(
            "(kind = 'rule' AND segment_id IS NOT NULL) OR (kind = 'manual' AND segment_id IS NULL)",
            name=op.f("ck_tags_rule_has_segment"),
        ),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], name=op.f("fk_tags_segment_id_segments")),
        _staff("tags", "created_by_staff_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "member_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        _at("added_at"),
        sa.Column("added_by_staff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_tags_member_id_members")),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_member_tags_tag_id_tags")),
        _staff("member_tags", "added_by_staff_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_tags")),
        sa.UniqueConstraint("member_id", "tag_id", name="uq_member_tags_member_id_tag_id"),
    )
    op.create_index("ix_member_tags_tag_id_member_id", "member_tags", ["tag_id", "member_id"], unique=False)
    op.create_table(
        "tag_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        _at("at"),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("gained", sa.Integer(), nullable=False),
        sa.Column("lost", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_tag_evaluations_tag_id_tags")),
        _staff("tag_evaluations", "staff_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_evaluations")),
    )
    op.create_index(op.f("ix_tag_evaluations_tag_id"), "tag_evaluations", ["tag_id"], unique=False)
    op.create_table(
        "member_tag_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("evaluation_id", sa.Integer(), nullable=True),
        _at("at"),
        sa.CheckConstraint("action IN ('add', 'remove')", name=op.f("ck_member_tag_events_action_known")),
        sa.CheckConstraint("source IN ('manual', 'segment', 'rule')", name=op.f("ck_member_tag_events_source_known")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_tag_events_member_id_members")),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], name=op.f("fk_member_tag_events_tag_id_tags")),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["tag_evaluations.id"], name=op.f("fk_member_tag_events_evaluation_id_tag_evaluations")
        ),
        _staff("member_tag_events", "staff_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_tag_events")),
    )
    op.create_index(op.f("ix_member_tag_events_member_id"), "member_tag_events", ["member_id"], unique=False)
    op.create_index(op.f("ix_member_tag_events_tag_id"), "member_tag_events", ["tag_id"], unique=False)
    op.create_table(
        "member_rfm",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("recency", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Integer(), nullable=False),
        sa.Column("rfm_group", sa.String(length=16), nullable=False),
        _at("last_purchase_at"),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("spend", sa.Integer(), nullable=False),
        _at("computed_at"),
        sa.CheckConstraint("recency BETWEEN 1 AND 5", name=op.f("ck_member_rfm_recency_score")),
        sa.CheckConstraint("frequency BETWEEN 1 AND 5", name=op.f("ck_member_rfm_frequency_score")),
        sa.CheckConstraint("monetary BETWEEN 1 AND 5", name=op.f("ck_member_rfm_monetary_score")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_rfm_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_rfm")),
    )
    op.create_index(op.f("ix_member_rfm_rfm_group"), "member_rfm", ["rfm_group"], unique=False)


def downgrade() -> None:
    op.drop_table("member_rfm")
    op.drop_table("member_tag_events")
    op.drop_table("tag_evaluations")
    op.drop_table("member_tags")
    op.drop_table("tags")
    op.drop_table("products")
