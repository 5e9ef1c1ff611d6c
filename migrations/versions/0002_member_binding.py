"""member binding: consents, audit, phone verification, link tokens, nonces, bind codes, api keys, points ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 08:39:29.934415
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_api_keys_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_store_id"), ["store_id"], unique=False)

    op.create_table(
        "link_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=255), nullable=False),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_link_tokens_line_user_id_line_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_tokens")),
        sa.UniqueConstraint("token", name=op.f("uq_link_tokens_token")),
    )
    with op.batch_alter_table("link_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_tokens_line_user_id"), ["line_user_id"], unique=False)

    op.create_table(
        "phone_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("verified_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_phone_verifications_line_user_id_line_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_verifications")),
    )
    with op.batch_alter_table("phone_verifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_verifications_line_user_id"), ["line_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_phone_verifications_phone_e164"), ["phone_e164"], unique=False)

    op.create_table(
        "account_link_nonces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_account_link_nonces_line_user_id_line_users")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_account_link_nonces_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_link_nonces")),
        sa.UniqueConstraint("nonce", name=op.f("uq_account_link_nonces_nonce")),
    )
    with op.batch_alter_table("account_link_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_link_nonces_line_user_id"), ["line_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_link_nonces_member_id"), ["member_id"], unique=False)

    op.create_table(
        "bind_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by_line_user_id", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_bind_codes_member_id_members")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_bind_codes_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_bind_codes_store_id_stores")),
        sa.ForeignKeyConstraint(
            ["used_by_line_user_id"], ["line_users.id"], name=op.f("fk_bind_codes_used_by_line_user_id_line_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bind_codes")),
    )
    with op.batch_alter_table("bind_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bind_codes_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "uq_bind_codes_active_code",
            ["code"],
            unique=True,
            postgresql_where=sa.text("is_active"),
            sqlite_where=sa.text("is_active"),
        )

    op.create_table(
        "binding_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("line_user_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_user_id"], ["line_users.id"], name=op.f("fk_binding_audit_line_user_id_line_users")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_binding_audit_member_id_members")),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_binding_audit_staff_id_staff")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_binding_audit_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_audit")),
    )
    with op.batch_alter_table("binding_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_binding_audit_line_user_id"), ["line_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_binding_audit_member_id"), ["member_id"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("terms_version", sa.String(length=32), nullable=False),
        sa.Column("privacy_version", sa.String(length=32), nullable=False),
        sa.Column("marketing_opt_in", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_consents_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_member_id"), ["member_id"], unique=False)

    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("completed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_erasure_requests_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_requests_member_id"), ["member_id"], unique=False)

    op.create_table(
        "point_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_point_entries_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_point_entries_idempotency_key")),
    )
    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_point_entries_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="line"))
        batch_op.add_column(sa.Column("erased_at", models.base.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "rich_menu_deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("line_rich_menu_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rich_menu_deployments")),
        sa.UniqueConstraint("state", name=op.f("uq_rich_menu_deployments_state")),
    )
    with op.batch_alter_table("line_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applied_rich_menu_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("line_users", schema=None) as batch_op:
        batch_op.drop_column("applied_rich_menu_id")
    op.drop_table("rich_menu_deployments")

    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("source")

    with op.batch_alter_table("point_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_point_entries_member_id"))

    op.drop_table("point_entries")
    with op.batch_alter_table("erasure_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_requests_member_id"))

    op.drop_table("erasure_requests")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_member_id"))

    op.drop_table("consents")
    with op.batch_alter_table("binding_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_binding_audit_member_id"))
        batch_op.drop_index(batch_op.f("ix_binding_audit_line_user_id"))

    op.drop_table("binding_audit")
    with op.batch_alter_table("bind_codes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bind_codes_active_code", postgresql_where=sa.text("is_active"), sqlite_where=sa.text("is_active")
        )
        batch_op.drop_index(batch_op.f("ix_bind_codes_member_id"))

    op.drop_table("bind_codes")
    with op.batch_alter_table("account_link_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_link_nonces_member_id"))
        batch_op.drop_index(batch_op.f("ix_account_link_nonces_line_user_id"))

    op.drop_table("account_link_nonces")
    with op.batch_alter_table("phone_verifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_verifications_phone_e164"))
        batch_op.drop_index(batch_op.f("ix_phone_verifications_line_user_id"))

    op.drop_table("phone_verifications")
    with op.batch_alter_table("link_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_tokens_line_user_id"))

    op.drop_table("link_tokens")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_store_id"))

    op.drop_table("api_keys")
