"""Segments: product catalogue, member tags (manual and automatic) with their audit trail, and stored RFM groups
(issue 14)

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30 12:55:00.000000
"""

from collections.abc import Sequence

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
