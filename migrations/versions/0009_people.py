"""People: roles and status, per-person quotas, pairing requests, link codes, the audit
trail and token holds (issue 17).

People who were stored before this migration had been let in by an allowlist, so they
start `active` members; `clawling run` makes the CLAWLING_OWNERS owners at start-up.

Revision ID: 0009_people
Revises: 0008_model_windows
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0009_people"
down_revision: str | None = "0008_model_windows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="member"))
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="active")
        )
        batch.add_column(sa.Column("daily_tokens", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("monthly_tokens", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("quota_notice", sa.String(64), nullable=True))
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("username", sa.String(200), nullable=True))
        batch.add_column(sa.Column("linked_at", UtcDateTime(), nullable=True))
    op.create_table(
        "pairing_requests",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("username", sa.String(200), nullable=True),
        sa.Column("chat_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("notified_at", UtcDateTime(), nullable=True),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", Id, nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_pairing_requests_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_requests")),
        sa.UniqueConstraint("code", name=op.f("uq_pairing_requests_code")),
    )
    op.create_index(
        "ix_pairing_requests_platform_external",
        "pairing_requests",
        ["platform", "external_id", "status"],
    )
    op.create_table(
        "link_codes",
        sa.Column("id", Id, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_link_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_link_codes_code")),
    )
    op.create_index(op.f("ix_link_codes_user_id"), "link_codes", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", Id, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("actor_id", Id, nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("subject_id", Id, nullable=True),
        sa.Column("subject", sa.String(200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["users.id"],
            name=op.f("fk_audit_log_subject_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    for column in ("created_at", "action", "actor_id", "subject_id"):
        op.create_index(op.f(f"ix_audit_log_{column}"), "audit_log", [column])
    op.create_table(
        "token_holds",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_holds_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_holds")),
    )
    op.create_index(op.f("ix_token_holds_user_id"), "token_holds", ["user_id"])


def downgrade() -> None:
    op.drop_table("token_holds")
    op.drop_table("audit_log")
    op.drop_table("link_codes")
    op.drop_table("pairing_requests")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("linked_at")
        batch.drop_column("username")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("quota_notice")
        batch.drop_column("monthly_tokens")
        batch.drop_column("daily_tokens")
        batch.drop_column("status")
        batch.drop_column("role")
