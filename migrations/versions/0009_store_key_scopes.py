"""Store keys get scopes; erasure requests record the store and clerk; coupon templates may allow redeeming
without the member

* `api_keys.scopes`: what a key may do, space-separated (`scan`, `coupons`, `members`). Keys that exist before this
  migration get all three scopes, so nothing a POS does today breaks on upgrade; the operator may then replace them
  with narrower keys (`omo api-keys create --scope …`). New keys name their scopes (the column has no default).
* `erasure_requests.store_id`, `.staff_id`: where and by whom a counter's erasure was taken (nullable: the chat's
  own erasures, and those recorded before this migration, have none).
* `coupon_templates.redeemable_without_member`: false for every template, so every coupon is redeemed with its
  member present unless a template is changed to say otherwise.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_SCOPES = "scan coupons members"


def upgrade() -> None:
    # Existing keys get every scope through the server default, which is then dropped: new keys say theirs.
    # (Nothing refers to api_keys, so SQLite's batch rebuild is safe here.)
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.String(length=64), nullable=False, server_default=ALL_SCOPES))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", server_default=None, existing_type=sa.String(length=64), existing_nullable=False)

    with op.batch_alter_table("erasure_requests") as batch:
        batch.add_column(sa.Column("store_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("staff_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_erasure_requests_store_id_stores"), "stores", ["store_id"], ["id"])
        batch.create_foreign_key(batch.f("fk_erasure_requests_staff_id_staff"), "staff", ["staff_id"], ["id"])

    op.add_column(
        "coupon_templates",
        sa.Column("redeemable_without_member", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # coupons refer to coupon_templates, so no batch rebuild of it on SQLite: its own DROP COLUMN (3.35+) instead.
    op.drop_column("coupon_templates", "redeemable_without_member")
    with op.batch_alter_table("erasure_requests") as batch:
        batch.drop_constraint(batch.f("fk_erasure_requests_staff_id_staff"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_erasure_requests_store_id_stores"), type_="foreignkey")
        batch.drop_column("staff_id")
        batch.drop_column("store_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("scopes")
