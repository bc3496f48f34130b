"""Approvals answered on any replica: who answered is stored with the answer, so the
replica whose turn waits reads it from SQL for the audit trail (issue 20).

Revision ID: 0016_notify
Revises: 0015_inbox
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_notify"
down_revision: str | None = "0015_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A plain nullable column: ALTER TABLE on both databases (see 0012_voice).


def upgrade() -> None:
    op.add_column("approvals", sa.Column("decided_by", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("approvals", "decided_by")
