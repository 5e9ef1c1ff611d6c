"""stores.address, phone, opening_hours: what shoppers see under 門市資訊

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("address", 200), ("phone", 32), ("opening_hours", 100))


def upgrade() -> None:
    for name, length in COLUMNS:
        op.add_column("stores", sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; a batch rebuild of `stores` would trip the foreign keys pointing at it.
    for name, _length in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"ALTER TABLE stores DROP COLUMN {name}")
        else:
            op.drop_column("stores", name)
