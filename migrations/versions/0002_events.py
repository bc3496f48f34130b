"""Processed platform events, for deduplicating redeliveries (Slack retries).

Revision ID: 0002_events
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0002_events"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_events")),
        sa.UniqueConstraint("platform", "event_key", name=op.f("uq_processed_events_platform")),
    )
    op.create_index(op.f("ix_processed_events_created_at"), "processed_events", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_processed_events_created_at"), table_name="processed_events")
    op.drop_table("processed_events")
