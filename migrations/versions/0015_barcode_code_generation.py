"""barcode_uses.generation: a spent member code rolls over at once to the next generation of the same minute

A code used to be one per member and time step, so after a value-changing scan the till waited up to a minute for
the next one. Each step now has generations 0, 1, 2…: spending generation g makes g + 1 the member's code. Rows
recorded before this migration are generation 0 (the code the card showed then).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("barcode_uses") as batch:
        batch.add_column(sa.Column("generation", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_barcode_uses_member_id_time_step", type_="unique")
        batch.create_unique_constraint(
            "uq_barcode_uses_member_id_time_step_generation", ["member_id", "time_step", "generation"]
        )
    with op.batch_alter_table("barcode_uses") as batch:
        batch.alter_column("generation", server_default=None)


def downgrade() -> None:
    # Later generations of a step cannot be kept under the old one-use-per-step key.
    op.execute("DELETE FROM barcode_uses WHERE generation > 0")
    with op.batch_alter_table("barcode_uses") as batch:
        batch.drop_constraint("uq_barcode_uses_member_id_time_step_generation", type_="unique")
        batch.create_unique_constraint("uq_barcode_uses_member_id_time_step", ["member_id", "time_step"])
        batch.drop_column("generation")
