"""Usage that was estimated: `llm_calls.estimated` marks rows whose token counts the
client worked out itself because the endpoint reported none (llama-cpp-python ignores
`stream_options`, so its streamed answers carried no usage). /usage shows them as
estimates; totals and quotas count them like the rest. Existing rows were reported.

Revision ID: 0007_usage_estimated
Revises: 0006_untrusted
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_usage_estimated"
down_revision: str | None = "0006_untrusted"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "llm_calls",
        sa.Column("estimated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("llm_calls", "estimated")  # SQLite 3.35+ drops a column in place
