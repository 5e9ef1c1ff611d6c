"""Staff referral: referral codes, touches, first-touch leads and member attributions (issue 11, part 4)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 10:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str = "at") -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "referral_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        _at("created_at"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_referral_codes_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_referral_codes_code")),
        sa.UniqueConstraint("staff_id", name=op.f("uq_referral_codes_staff_id")),
    )
    op.create_table(
        "referral_touches",
        sa.Column("id", sa.Integer(), nullable=False),
        _at(),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "relation IN ('new_friend', 'friend', 'member')", name=op.f("ck_referral_touches_relation_known")
        ),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_referral_touches_line_user_id_line_users")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_referral_touches_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_referral_touches_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_touches")),
    )
    with op.batch_alter_table("referral_touches") as batch:
        batch.create_index(batch.f("ix_referral_touches_at"), ["at"], unique=False)
        batch.create_index(batch.f("ix_referral_touches_line_user_id"), ["line_user_id"], unique=False)
        batch.create_index(batch.f("ix_referral_touches_staff_id"), ["staff_id"], unique=False)
        batch.create_index(batch.f("ix_referral_touches_store_id"), ["store_id"], unique=False)
    op.create_table(
        "referral_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("touch_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        _at(),
        sa.Column("new_friend", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_referral_leads_line_user_id_line_users")
        ),
        sa.ForeignKeyConstraint(
            ["touch_id"], ["referral_touches.id"], name=op.f("fk_referral_leads_touch_id_referral_touches")
        ),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_referral_leads_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_referral_leads_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_leads")),
        sa.UniqueConstraint("line_user_id", name=op.f("uq_referral_leads_line_user_id")),
        sa.UniqueConstraint("touch_id", name=op.f("uq_referral_leads_touch_id")),
    )
    with op.batch_alter_table("referral_leads") as batch:
        batch.create_index(batch.f("ix_referral_leads_staff_id"), ["staff_id"], unique=False)
        batch.create_index(batch.f("ix_referral_leads_store_id"), ["store_id"], unique=False)
    op.create_table(
        "referral_attributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        _at(),
        sa.CheckConstraint("kind IN ('join', 'bind')", name=op.f("ck_referral_attributions_kind_known")),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["referral_leads.id"], name=op.f("fk_referral_attributions_lead_id_referral_leads")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_referral_attributions_member_id_members")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_referral_attributions_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_referral_attributions_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_attributions")),
        sa.UniqueConstraint("lead_id", name=op.f("uq_referral_attributions_lead_id")),
        sa.UniqueConstraint("member_id", name=op.f("uq_referral_attributions_member_id")),
    )
    with op.batch_alter_table("referral_attributions") as batch:
        batch.create_index(batch.f("ix_referral_attributions_at"), ["at"], unique=False)
        batch.create_index(batch.f("ix_referral_attributions_staff_id"), ["staff_id"], unique=False)
        batch.create_index(batch.f("ix_referral_attributions_store_id"), ["store_id"], unique=False)


def downgrade() -> None:
    op.drop_table("referral_attributions")
    op.drop_table("referral_leads")
    op.drop_table("referral_touches")
    op.drop_table("referral_codes")
