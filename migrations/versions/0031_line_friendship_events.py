"""LINE friendship history (reserved; being written).

Revision ID: 0031
Revises: 0030
"""

revision: str = "0031"
down_revision: str | None = "0030"
