"""Spoken replies: whether a person asked for answers as voice notes too (/voice on).

Revision ID: 0012_voice
Revises: 0011_pairing
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_voice"
down_revision: str | None = "0011_pairing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite 3.35+ drops columns itself): a batch
# operation would copy `users`, which every person's rows point at, for one flag.


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("voice_replies", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("users", "voice_replies")
