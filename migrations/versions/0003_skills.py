"""Per-user skills (drafts waiting for approval, active ones) and tool-call approvals.

Revision ID: 0003_skills
Revises: 0002_events
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0003_skills"
# Chained after main's newest revision so one head exists; re-chain freely on merge.
down_revision: str | None = "0002_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_skills",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.String(1024), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_skills_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_skills")),
    )
    op.create_index("ix_user_skills_user_status", "user_skills", ["user_id", "status", "name"])
    op.create_table(
        "approvals",
        sa.Column("id", Id, nullable=False),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("tool_name", sa.String(200), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_approvals_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_approvals_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_index("ix_approvals_conversation_status", "approvals", ["conversation_id", "status"])
    op.create_index(op.f("ix_approvals_user_id"), "approvals", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_approvals_user_id"), table_name="approvals")
    op.drop_index("ix_approvals_conversation_status", table_name="approvals")
    op.drop_table("approvals")
    op.drop_index("ix_user_skills_user_status", table_name="user_skills")
    op.drop_table("user_skills")
