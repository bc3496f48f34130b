"""Deliveries that carry buttons and deliveries addressed to a person's account.

Pairing (issue 17) asks the owners with a message that has Allow / Deny buttons, sent
to each owner's private chat with the assistant. Such a message is a delivery like any
other (retried until the platform takes it), so the row keeps its buttons, and
`to_account` says that `chat_id` is the owner's platform account: the sending process
finds their private chat at send time (Slack needs a call for it), so a hiccup there
is retried too.

Revision ID: 0011_pairing
Revises: 0010_cjk_search
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_pairing"
down_revision: str | None = "0010_cjk_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("buttons", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column("to_account", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("to_account")
        batch.drop_column("buttons")
