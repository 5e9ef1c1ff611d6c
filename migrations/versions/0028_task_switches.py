"""Daily-task settings (issue 14, part 1): check-ins switched on or off, and the days a game runs

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-30 13:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("checkin_settings") as batch:
        batch.add_column(sa.Column("checkins_enabled", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("games") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        batch.create_check_constraint("dates_in_order", "starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on")


def downgrade() -> None:
    with op.batch_alter_table("games") as batch:
        batch.drop_constraint("ck_games_dates_in_order", type_="check")
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
    with op.batch_alter_table("checkin_settings") as batch:
        batch.drop_column("checkins_enabled")
