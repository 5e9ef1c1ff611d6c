"""Missions: an English name beside the zh-TW one (reserved; being written).

Revision ID: 0033
Revises: 0032
"""

revision: str = "0033"
down_revision: str | None = "0032"
