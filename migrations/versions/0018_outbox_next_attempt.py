"""Outbox: the time of a message's next attempt (backoff during a LINE outage) and the `unknown` outcome (issue 10)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 10:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("next_attempt_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_outbound_messages_status_next_attempt_at", ["status", "next_attempt_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_messages_status_next_attempt_at")
        batch.drop_column("next_attempt_at")
