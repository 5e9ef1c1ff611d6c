"""Campaigns start in steps that a killed worker resumes (issue 14, part 4): the audience frozen as recipient rows
(`audience_size` once all are written), the outbox chunks numbered by `chunks_written` (their retry keys derive from
the number), `prepared_at` when every chunk is written, and `progress_at`, the last step's time, by which a preparation
whose worker died is seen to have stopped.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 13:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("audience_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chunks_written", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("progress_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint("chunks_written_not_negative", "chunks_written >= 0")
    # Campaigns started before this migration wrote everything in their one transaction: they are prepared.
    op.execute(
        "UPDATE campaigns SET prepared_at = started_at, progress_at = started_at, audience_size = "
        "(SELECT count(*) FROM campaign_recipients r WHERE r.campaign_id = campaigns.id) "
        "WHERE started_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_constraint("chunks_written_not_negative", type_="check")
        batch.drop_column("progress_at")
        batch.drop_column("prepared_at")
        batch.drop_column("chunks_written")
        batch.drop_column("audience_size")
