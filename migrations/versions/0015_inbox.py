"""Webhook and HTTP events stored before their 200 is answered, then handed on by
whichever replica claims them (issue 20).

Revision ID: 0015_inbox
Revises: 0014_replicas
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0015_inbox"
down_revision: str | None = "0014_replicas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", Id, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("chat", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("done_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("platform", "event_id", name=op.f("uq_inbox_platform")),
    )
    op.create_index("ix_inbox_chat_waiting", "inbox", ["platform", "chat", "id"])
    op.create_index(op.f("ix_inbox_done_at"), "inbox", ["done_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_done_at"), table_name="inbox")
    op.drop_index("ix_inbox_chat_waiting", table_name="inbox")
    op.drop_table("inbox")
