"""Engagement: daily check-ins and streaks, lucky draws, scratch cards and their configuration (issue 13)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Records of what was given: never updated or deleted (a play's first reveal aside), the database itself refuses it.
APPEND_ONLY = ("checkins", "checkin_milestone_awards", "streak_freeze_entries", "game_play_grants", "checkin_reminders")
# game_plays: everything but revealed_at is fixed once written.
PLAY_COLUMNS = (
    "member_id",
    "game_id",
    "game_kind",
    "local_day",
    "play_number",
    "source",
    "prize_id",
    "rolled_prize_id",
    "points",
    "coupon_id",
    "created_at",
)


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION engagement_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'engagement records are append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$ "
            "LANGUAGE plpgsql"
        )
        for table in (*APPEND_ONLY, "game_plays"):
            event = "DELETE" if table == "game_plays" else "UPDATE OR DELETE"
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE {event} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION engagement_append_only()"
            )
        old = ", ".join(f"OLD.{column}" for column in PLAY_COLUMNS)
        new = ", ".join(f"NEW.{column}" for column in PLAY_COLUMNS)
        op.execute(
            "CREATE FUNCTION game_plays_fixed() RETURNS trigger AS $$ BEGIN "
            f"IF ROW({new}) IS DISTINCT FROM ROW({old}) OR OLD.revealed_at IS NOT NULL THEN "
            "RAISE EXCEPTION 'a play is fixed once recorded'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER game_plays_fixed BEFORE UPDATE ON game_plays "
            "FOR EACH ROW EXECUTE FUNCTION game_plays_fixed()"
        )
        return
    for table in (*APPEND_ONLY, "game_plays"):
        actions = ("DELETE",) if table == "game_plays" else ("UPDATE", "DELETE")
        for action in actions:
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'engagement records are append-only'); END"
            )
    op.execute(
        f"CREATE TRIGGER game_plays_fixed BEFORE UPDATE OF {', '.join(PLAY_COLUMNS)} ON game_plays "
        "BEGIN SELECT RAISE(ABORT, 'a play is fixed once recorded'); END"
    )
    op.execute(
        "CREATE TRIGGER game_plays_revealed_once BEFORE UPDATE OF revealed_at ON game_plays "
        "WHEN OLD.revealed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'a play is fixed once recorded'); END"
    )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*APPEND_ONLY, "game_plays"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP TRIGGER IF EXISTS game_plays_fixed ON game_plays")
        op.execute("DROP FUNCTION IF EXISTS game_plays_fixed()")
        op.execute("DROP FUNCTION IF EXISTS engagement_append_only()")
        return
    for table in (*APPEND_ONLY, "game_plays"):
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    op.execute("DROP TRIGGER IF EXISTS game_plays_fixed")
    op.execute("DROP TRIGGER IF EXISTS game_plays_revealed_once")


def upgrade() -> None:
    op.create_table(
        "checkin_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reminder_time", sa.String(length=5), nullable=False),
        sa.Column("reminders_enabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_settings")),
    )
    op.create_table(
        "games",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("free_plays_per_day", sa.Integer(), nullable=False),
        sa.Column("daily_budget", sa.Integer(), nullable=True),
        sa.Column("when_unavailable", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('draw', 'scratch')", name=op.f("ck_games_kind_known")),
        sa.CheckConstraint("when_unavailable IN ('nothing', 'next')", name=op.f("ck_games_when_unavailable_known")),
        sa.CheckConstraint("free_plays_per_day >= 0", name=op.f("ck_games_free_plays_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_games")),
        sa.UniqueConstraint("code", name=op.f("uq_games_code")),
    )
    op.create_table(
        "game_day_counts",
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("awarded", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["game_id"], ["games.id"], name=op.f("fk_game_day_counts_game_id_games")),
        sa.PrimaryKeyConstraint("game_id", "local_day", name=op.f("pk_game_day_counts")),
    )
    op.create_table(
        "game_prizes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("chance_ppm", sa.Integer(), nullable=False),
        sa.Column("reward_kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("coupon_template_id", sa.Integer(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("awarded_count", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("reward_kind IN ('points', 'coupon')", name=op.f("ck_game_prizes_reward_kind_known")),
        sa.CheckConstraint("chance_ppm >= 0 AND chance_ppm <= 1000000", name=op.f("ck_game_prizes_chance_in_range")),
        sa.CheckConstraint("stock IS NULL OR awarded_count <= stock", name=op.f("ck_game_prizes_within_stock")),
        sa.ForeignKeyConstraint(
            ["coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_game_prizes_coupon_template_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(["game_id"], ["games.id"], name=op.f("fk_game_prizes_game_id_games")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_prizes")),
        sa.UniqueConstraint("game_id", "code", name="uq_game_prizes_game_id_code"),
    )
    with op.batch_alter_table("game_prizes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_game_prizes_game_id"), ["game_id"], unique=False)
    op.create_table(
        "checkin_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("reward_kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("coupon_template_id", sa.Integer(), nullable=True),
        sa.Column("stamp_card_template_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "reward_kind IN ('points', 'coupon', 'stamp', 'freeze')",
            name=op.f("ck_checkin_milestones_reward_kind_known"),
        ),
        sa.CheckConstraint("day > 0", name=op.f("ck_checkin_milestones_day_positive")),
        sa.ForeignKeyConstraint(
            ["coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_checkin_milestones_coupon_template_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["stamp_card_template_id"],
            ["stamp_card_templates.id"],
            name=op.f("fk_checkin_milestones_stamp_card_template_id_stamp_card_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_milestones")),
        sa.UniqueConstraint("day", name=op.f("uq_checkin_milestones_day")),
    )
    op.create_table(
        "checkin_reminder_preferences",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_checkin_reminder_preferences_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_checkin_reminder_preferences")),
    )
    op.create_table(
        "checkin_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_checkin_reminders_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_reminders")),
        sa.UniqueConstraint("member_id", "local_day", name="uq_checkin_reminders_member_id_local_day"),
    )
    with op.batch_alter_table("checkin_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_reminders_member_id"), ["member_id"], unique=False)
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("streak_started_on", sa.Date(), nullable=False),
        sa.Column("frozen_days", sa.Integer(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("streak > 0", name=op.f("ck_checkins_streak_positive")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_checkins_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("member_id", "local_day", name="uq_checkins_member_id_local_day"),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkins_member_id"), ["member_id"], unique=False)
    op.create_table(
        "game_play_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("game_kind", sa.String(length=16), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("plays > 0", name=op.f("ck_game_play_grants_plays_positive")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_game_play_grants_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_play_grants")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_game_play_grants_idempotency_key")),
    )
    with op.batch_alter_table("game_play_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_game_play_grants_member_id"), ["member_id"], unique=False)
    op.create_table(
        "streak_freeze_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_streak_freeze_entries_delta_not_zero")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_streak_freeze_entries_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streak_freeze_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_streak_freeze_entries_idempotency_key")),
    )
    with op.batch_alter_table("streak_freeze_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_streak_freeze_entries_member_id"), ["member_id"], unique=False)
    op.create_table(
        "checkin_milestone_awards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("streak_started_on", sa.Date(), nullable=False),
        sa.Column("milestone_day", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("reward_kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkins.id"], name=op.f("fk_checkin_milestone_awards_checkin_id_checkins")
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_checkin_milestone_awards_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_checkin_milestone_awards_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_milestone_awards")),
        sa.UniqueConstraint(
            "member_id",
            "streak_started_on",
            "milestone_day",
            name="uq_checkin_milestone_awards_member_id_streak_started_on",
        ),
    )
    with op.batch_alter_table("checkin_milestone_awards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_checkin_milestone_awards_member_id"), ["member_id"], unique=False)
    op.create_table(
        "game_plays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("game_id", sa.Integer(), nullable=False),
        sa.Column("game_kind", sa.String(length=16), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("play_number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("prize_id", sa.Integer(), nullable=True),
        sa.Column("rolled_prize_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=True),
        sa.Column("revealed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('free', 'extra')", name=op.f("ck_game_plays_source_known")),
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"], name=op.f("fk_game_plays_coupon_id_coupons")),
        sa.ForeignKeyConstraint(["game_id"], ["games.id"], name=op.f("fk_game_plays_game_id_games")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_game_plays_member_id_members")),
        sa.ForeignKeyConstraint(["prize_id"], ["game_prizes.id"], name=op.f("fk_game_plays_prize_id_game_prizes")),
        sa.ForeignKeyConstraint(
            ["rolled_prize_id"], ["game_prizes.id"], name=op.f("fk_game_plays_rolled_prize_id_game_prizes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_game_plays")),
        sa.UniqueConstraint(
            "member_id", "game_kind", "local_day", "play_number", name="uq_game_plays_member_id_kind_day_number"
        ),
    )
    with op.batch_alter_table("game_plays", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_game_plays_member_id"), ["member_id"], unique=False)
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table("game_plays", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_game_plays_member_id"))
    op.drop_table("game_plays")
    with op.batch_alter_table("checkin_milestone_awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_milestone_awards_member_id"))
    op.drop_table("checkin_milestone_awards")
    with op.batch_alter_table("streak_freeze_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streak_freeze_entries_member_id"))
    op.drop_table("streak_freeze_entries")
    with op.batch_alter_table("game_play_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_game_play_grants_member_id"))
    op.drop_table("game_play_grants")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkins_member_id"))
    op.drop_table("checkins")
    with op.batch_alter_table("checkin_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkin_reminders_member_id"))
    op.drop_table("checkin_reminders")
    op.drop_table("checkin_reminder_preferences")
    op.drop_table("checkin_milestones")
    with op.batch_alter_table("game_prizes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_game_prizes_game_id"))
    op.drop_table("game_prizes")
    op.drop_table("game_day_counts")
    op.drop_table("games")
    op.drop_table("checkin_settings")
