"""Several processes on one database: turns made unique, replicas with heartbeats, and
owners on in-flight deliveries and waiting approvals (issue 20).

Revision ID: 0014_replicas
Revises: 0013_dashboard
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0014_replicas"
down_revision: str | None = "0013_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Existing turns are taken from the messages that carry them: DISTINCT cannot make a
# duplicate, so the new primary key holds for any data. Plain ALTER TABLE for the two
# columns on both databases (see 0012_voice).


def upgrade() -> None:
    op.create_table(
        "turns",
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_turns_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "number", name=op.f("pk_turns")),
    )
    op.execute(
        "INSERT INTO turns (conversation_id, number) "
        "SELECT DISTINCT conversation_id, turn FROM messages WHERE turn IS NOT NULL"
    )
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("seen_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replicas")),
    )
    op.add_column("deliveries", sa.Column("claimed_by", sa.String(100), nullable=True))
    op.add_column("approvals", sa.Column("owner", sa.String(100), nullable=True))


def downgrade() -> None:
    op.drop_column("approvals", "owner")
    op.drop_column("deliveries", "claimed_by")
    op.drop_table("replicas")
    op.drop_table("turns")
