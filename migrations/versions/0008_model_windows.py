"""Model windows: the context window and token ratio learnt per endpoint and model, so
a window read from an overflow error (the only place some servers state it) and the
calibration of token estimates survive a restart (bot/llm/window.py).

Revision ID: 0008_model_windows
Revises: 0007_usage_estimated
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0008_model_windows"
down_revision: str | None = "0007_usage_estimated"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_windows",
        sa.Column("id", Id, nullable=False),
        sa.Column("base_url", sa.String(500), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("context_tokens", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("token_ratio", sa.Float(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_windows")),
        sa.UniqueConstraint("base_url", "model", name=op.f("uq_model_windows_base_url")),
    )


def downgrade() -> None:
    op.drop_table("model_windows")
