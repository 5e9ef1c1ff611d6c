"""rewards ledger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:07.465755
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


LEDGER_TABLES = ("point_entries", "stamp_entries")


def _create_append_only_triggers() -> None:
    """Ledger entries are never updated or deleted: the database itself refuses it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'ledger entries are append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$ LANGUAGE plpgsql"
        )
        for table in LEDGER_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
    else:
        for table in LEDGER_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"
                )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in LEDGER_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    else:
        for table in LEDGER_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:

    op.create_table(
        "coupon_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=100), nullable=True),
        sa.Column("min_spend", sa.Integer(), nullable=False),
        sa.Column("valid_from", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_until", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_days_after_issue", sa.Integer(), nullable=True),
        sa.Column("total_limit", sa.Integer(), nullable=True),
        sa.Column("per_member_limit", sa.Integer(), nullable=True),
        sa.Column("issued_count", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('amount_off', 'percent_off', 'free_item', 'bogo')", name=op.f("ck_coupon_templates_kind_known")
        ),
        sa.CheckConstraint(
            "total_limit IS NULL OR issued_count <= total_limit", name=op.f("ck_coupon_templates_within_total_limit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_templates")),
        sa.UniqueConstraint("code", name=op.f("uq_coupon_templates_code")),
    )
    op.create_table(
        "stamp_card_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("amount_per_stamp", sa.Integer(), nullable=True),
        sa.Column("stamps_to_fill", sa.Integer(), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("reward_coupon_template_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rule IN ('per_amount', 'per_visit')", name=op.f("ck_stamp_card_templates_rule_known")),
        sa.CheckConstraint("stamps_to_fill > 0", name=op.f("ck_stamp_card_templates_stamps_to_fill_positive")),
        sa.ForeignKeyConstraint(
            ["reward_coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_stamp_card_templates_reward_coupon_template_id_coupon_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stamp_card_templates")),
        sa.UniqueConstraint("code", name=op.f("uq_stamp_card_templates_code")),
    )
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("valid_from", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("voided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_coupons_member_id_members")),
        sa.ForeignKeyConstraint(
            ["template_id"], ["coupon_templates.id"], name=op.f("fk_coupons_template_id_coupon_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
        sa.UniqueConstraint("source_key", name=op.f("uq_coupons_source_key")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupons_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coupons_template_id"), ["template_id"], unique=False)

    op.create_table(
        "member_balances",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points >= 0", name=op.f("ck_member_balances_points_not_negative")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_balances_member_id_members")),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_member_balances")),
    )
    op.create_table(
        "purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column(
            "items", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.Column("points_earned", sa.Integer(), nullable=False),
        sa.Column("refunded_amount", sa.Integer(), nullable=False),
        sa.Column(
            "response", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_purchases_amount_not_negative")),
        sa.CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= amount", name=op.f("ck_purchases_refund_within_amount")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_purchases_member_id_members")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_purchases_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_purchases_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("store_id", "transaction_id", name="uq_purchases_store_id_transaction_id"),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchases_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_purchases_store_id"), ["store_id"], unique=False)

    op.create_table(
        "tier_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("from_tier", sa.String(length=20), nullable=False),
        sa.Column("to_tier", sa.String(length=20), nullable=False),
        sa.Column("rolling_spend", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_tier_changes_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_changes")),
    )
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tier_changes_member_id"), ["member_id"], unique=False)

    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=True),
        sa.Column("undone_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_redemptions_coupon_id_coupons")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_coupon_redemptions_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_coupon_redemptions_store_id_stores")),
        sa.ForeignKeyConstraint(
            ["undone_by_staff_id"], ["staff.id"], name=op.f("fk_coupon_redemptions_undone_by_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
    )
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coupon_redemptions_coupon_id"), ["coupon_id"], unique=False)
        batch_op.create_index(
            "uq_coupon_redemptions_live",
            ["coupon_id"],
            unique=True,
            postgresql_where=sa.text("is_active"),
            sqlite_where=sa.text("is_active"),
        )

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=False),
        sa.Column("refund_id", sa.String(length=100), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column(
            "response", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["purchase_id"], ["purchases.id"], name=op.f("fk_refunds_purchase_id_purchases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("purchase_id", "refund_id", name="uq_refunds_purchase_id_refund_id"),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_purchase_id"), ["purchase_id"], unique=False)

    op.create_table(
        "stamp_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("stamps", sa.Integer(), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("filled_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expired_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reward_coupon_id", sa.Integer(), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("stamps >= 0", name=op.f("ck_stamp_cards_stamps_not_negative")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_stamp_cards_member_id_members")),
        sa.ForeignKeyConstraint(
            ["reward_coupon_id"], ["coupons.id"], name=op.f("fk_stamp_cards_reward_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"], ["stamp_card_templates.id"], name=op.f("fk_stamp_cards_template_id_stamp_card_templates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stamp_cards")),
    )
    with op.batch_alter_table("stamp_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stamp_cards_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "uq_stamp_cards_open_card",
            ["member_id", "template_id"],
            unique=True,
            postgresql_where=sa.text("is_open"),
            sqlite_where=sa.text("is_open"),
        )

    op.create_table(
        "stamp_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stamps", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["card_id"], ["stamp_cards.id"], name=op.f("fk_stamp_entries_card_id_stamp_cards")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_stamp_entries_member_id_members")),
        sa.ForeignKeyConstraint(["purchase_id"], ["purchases.id"], name=op.f("fk_stamp_entries_purchase_id_purchases")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_stamp_entries_staff_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stamp_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_stamp_entries_idempotency_key")),
    )
    with op.batch_alter_table("stamp_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stamp_entries_card_id"), ["card_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stamp_entries_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stamp_entries_purchase_id"), ["purchase_id"], unique=False)

    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("purchase_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reverses_entry_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_point_entries_purchase_id"), ["purchase_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_point_entries_reverses_entry_id_point_entries"),
            "point_entries",
            ["reverses_entry_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_point_entries_purchase_id_purchases"), "purchases", ["purchase_id"], ["id"]
        )
    # The cached balances start as the sums of the entries already recorded (points imported from the POS).
    op.execute(
        "INSERT INTO member_balances (member_id, points, updated_at) "
        "SELECT member_id, SUM(points), CURRENT_TIMESTAMP FROM point_entries GROUP BY member_id"
    )
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()

    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_point_entries_purchase_id_purchases"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_point_entries_reverses_entry_id_point_entries"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_point_entries_purchase_id"))
        batch_op.drop_column("reverses_entry_id")
        batch_op.drop_column("purchase_id")
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("stamp_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stamp_entries_purchase_id"))
        batch_op.drop_index(batch_op.f("ix_stamp_entries_member_id"))
        batch_op.drop_index(batch_op.f("ix_stamp_entries_card_id"))

    op.drop_table("stamp_entries")
    with op.batch_alter_table("stamp_cards", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_stamp_cards_open_card", postgresql_where=sa.text("is_open"), sqlite_where=sa.text("is_open")
        )
        batch_op.drop_index(batch_op.f("ix_stamp_cards_member_id"))

    op.drop_table("stamp_cards")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_purchase_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("coupon_redemptions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_coupon_redemptions_live", postgresql_where=sa.text("is_active"), sqlite_where=sa.text("is_active")
        )
        batch_op.drop_index(batch_op.f("ix_coupon_redemptions_coupon_id"))

    op.drop_table("coupon_redemptions")
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_changes_member_id"))

    op.drop_table("tier_changes")
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchases_store_id"))
        batch_op.drop_index(batch_op.f("ix_purchases_member_id"))

    op.drop_table("purchases")
    op.drop_table("member_balances")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupons_template_id"))
        batch_op.drop_index(batch_op.f("ix_coupons_member_id"))

    op.drop_table("coupons")
    op.drop_table("stamp_card_templates")
    op.drop_table("coupon_templates")
