"""/stop across replicas, kept in SQL: when a stop was last asked for a conversation's
running turn, so the replica running it finds the request even when it missed the
notice (its listener was reconnecting) (issue 20). A table of its own, so the
conversations every turn reads stay as they are.

Revision ID: 0018_stops
Revises: 0017_worker
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0018_stops"
down_revision: str | None = "0017_worker"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stop_requests",
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("asked_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_stop_requests_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_stop_requests")),
    )


def downgrade() -> None:
    op.drop_table("stop_requests")
