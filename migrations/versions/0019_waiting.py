"""Messages still waiting for an answer, found without reading every message: a partial
index on `created_at` of the rows whose `turn` is NULL (user messages not yet answered).
Replicas look for such messages every few seconds, so that a conversation whose replica
died mid-turn is answered by another (bot/chat/orphans.py) (issue 20).

Revision ID: 0019_waiting
Revises: 0018_stops
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_waiting"
down_revision: str | None = "0018_stops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("turn IS NULL")


def upgrade() -> None:
    # Few rows qualify at any time, so the index stays small however long the history.
    op.create_index(
        "ix_messages_waiting",
        "messages",
        ["created_at"],
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_waiting", table_name="messages")
