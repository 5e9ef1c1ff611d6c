"""members.source: no server default, as in the model

0002 gave the new NOT NULL column a server default ('line') to fill the rows already there; the model sets it in
Python (default="line"), so the default stayed behind in the database only. This drops it so the schema matches the
models (tests/unit/test_migrations_match_models.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_source_default(server_default: str | None) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "members", "source", server_default=server_default, existing_type=sa.String(16), existing_nullable=False
        )
        return
    # SQLite cannot change a default in place, so batch mode rebuilds the table, and dropping the old `members`
    # counts as deleting every member under `PRAGMA foreign_keys=ON` (bot/db.py), which a dozen tables refer to. So the
    # rows wait in a copy while the emptied table is rebuilt and then go back in: with the foreign-key checks deferred
    # to commit, the deletes and the re-inserts of the same ids cancel out. (The rebuild keeps the column order.)
    op.execute("PRAGMA defer_foreign_keys=ON")
    op.execute("CREATE TABLE _members_0007 AS SELECT * FROM members")
    op.execute("DELETE FROM members")
    with op.batch_alter_table("members", recreate="always") as batch_op:
        batch_op.alter_column(
            "source", server_default=server_default, existing_type=sa.String(16), existing_nullable=False
        )
    op.execute("INSERT INTO members SELECT * FROM _members_0007")
    op.execute("DROP TABLE _members_0007")
    op.execute("PRAGMA defer_foreign_keys=OFF")


def upgrade() -> None:
    _set_source_default(None)


def downgrade() -> None:
    _set_source_default("line")
