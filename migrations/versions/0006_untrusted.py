"""Untrusted content, remembered: messages, memories and summaries that came from (or
were made from) content outside the person's own words — web pages, files, MCP and
tool output — so the confirmation gate still applies while they are in the model's
context (bot/safety/).

Existing rows: tool results that were wrapped as untrusted data, and user messages
that carried files, are marked.

Also `messages.set_aside`: a message too large for the model's window, kept stored but
left out of what the model sees, so the conversation goes on (bot/agent/loop.py).

Revision ID: 0006_untrusted
Revises: 0005_tasks
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_untrusted"
down_revision: str | None = "0005_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("messages", "memories", "conversation_summaries")


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: SQLite's batch mode copies the table, which would
    # drop the full-text triggers of messages and memories.
    for name in TABLES:
        op.add_column(
            name, sa.Column("untrusted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.add_column(
        "messages",
        sa.Column("set_aside", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        sa.text(
            "UPDATE messages SET untrusted = :yes WHERE (role = 'tool' AND content LIKE :wrapped)"
            " OR (role = 'user' AND (attachments IS NOT NULL OR content LIKE :file"
            " OR content LIKE :later_file))"
        ).bindparams(
            yes=True,
            wrapped="%<untrusted_data source=%",
            file="[File %",
            later_file="%\n[File %",
        )
    )


def downgrade() -> None:
    op.drop_column("messages", "set_aside")
    for name in TABLES:
        op.drop_column(name, "untrusted")  # SQLite 3.35+ drops a column in place
