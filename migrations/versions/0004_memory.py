"""Memory: long-term memories, conversation summaries, embeddings, full-text search.

Full-text search is made here, per backend:
- SQLite: contentless FTS5 tables `messages_fts` / `memories_fts` kept in sync by
  triggers (porter stemming, diacritics folded).
- PostgreSQL: a generated `search_vector` tsvector column with a GIN index.

Both index the same three fields: the text, a label (speaker / memory key) and
scope tokens (`u<user id>`, `c<conversation id>`) that keep each search inside
one person's or one conversation's data.

Revision ID: 0004_memory
Revises: 0003_skills
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from memory.db.sqltypes import Id, UtcDateTime

revision: str = "0004_memory"
down_revision: str | None = "0003_skills"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Messages that are searchable: what people and the assistant said (not tool output).
_SEARCHABLE_SQLITE = "{row}.role IN ('user', 'assistant') AND {row}.content <> ''"

_FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

_SQLITE_FTS = {
    "messages": {
        "content": "{row}.content",
        "label": "coalesce({row}.speaker, '')",
        "scope": "'u' || coalesce({row}.user_id, 0) || ' c' || {row}.conversation_id",
        "when": _SEARCHABLE_SQLITE,
        "watch": "content, speaker, role, user_id, conversation_id",
    },
    "memories": {
        "content": "{row}.content",
        "label": "{row}.kind || ' ' || {row}.key",
        "scope": "'u' || {row}.user_id",
        "when": "1",
        "watch": "content, kind, key, user_id",
    },
}

# PostgreSQL: text weighted A, label B, scope tokens D (queries match A/B only).
# left(): a tsvector is capped at 1 MB, and an insert must never fail on size.
_PG_VECTORS = {
    "messages": (
        "CASE WHEN role IN ('user', 'assistant') AND content <> '' THEN "
        "setweight(to_tsvector('english', left(content, 200000)), 'A') || "
        "setweight(to_tsvector('english', coalesce(speaker, '')), 'B') || "
        "setweight(to_tsvector('simple', 'u' || coalesce(user_id, 0)::text || ' c' || "
        "conversation_id::text), 'D') END"
    ),
    "memories": (
        "setweight(to_tsvector('english', left(content, 200000)), 'A') || "
        "setweight(to_tsvector('english', kind || ' ' || key), 'B') || "
        "setweight(to_tsvector('simple', 'u' || user_id::text), 'D')"
    ),
}


def _fts_values(table: str, row: str) -> str:
    spec = _SQLITE_FTS[table]
    return ", ".join(spec[column].format(row=row) for column in ("content", "label", "scope"))


def _create_sqlite_fts(table: str) -> None:
    spec = _SQLITE_FTS[table]
    fts = f"{table}_fts"
    new_when = spec["when"].format(row="new")
    old_when = spec["when"].format(row="old")
    insert_new = (
        f"INSERT INTO {fts}(rowid, content, label, scope) "
        f"SELECT new.id, {_fts_values(table, 'new')} WHERE {new_when};"
    )
    delete_old = (
        f"INSERT INTO {fts}({fts}, rowid, content, label, scope) "
        f"SELECT 'delete', old.id, {_fts_values(table, 'old')} WHERE {old_when};"
    )
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5(content, label, scope, content='', "
        f"tokenize='{_FTS_TOKENIZER}')"
    )
    op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert_new} END")
    op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete_old} END")
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {spec['watch']} ON {table} "
        f"BEGIN {delete_old} {insert_new} END"
    )
    op.execute(
        f"INSERT INTO {fts}(rowid, content, label, scope) "
        f"SELECT id, {_fts_values(table, table)} FROM {table} "
        f"WHERE {spec['when'].format(row=table)}"
    )


def _drop_sqlite_fts(table: str) -> None:
    fts = f"{table}_fts"
    for suffix in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {fts}")


def upgrade() -> None:
    op.add_column("messages", sa.Column("speaker", sa.String(200), nullable=True))
    op.create_table(
        "memories",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("source_message_id", Id, nullable=True),
        sa.Column("superseded_by_id", Id, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memories_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_message_id"],
            ["messages.id"],
            name=op.f("fk_memories_source_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["memories.id"],
            name=op.f("fk_memories_superseded_by_id_memories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memories")),
    )
    op.create_index(op.f("ix_memories_user_id"), "memories", ["user_id"])
    op.create_index(op.f("ix_memories_superseded_by_id"), "memories", ["superseded_by_id"])
    op.create_index("ix_memories_user_key", "memories", ["user_id", "key"])
    op.create_table(
        "conversation_summaries",
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("through_turn", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_summaries_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_conversation_summaries")),
    )
    op.create_table(
        "embeddings",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("message_id", Id, nullable=True),
        sa.Column("memory_id", Id, nullable=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_embeddings_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_embeddings_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["memory_id"],
            ["memories.id"],
            name=op.f("fk_embeddings_memory_id_memories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embeddings")),
        sa.UniqueConstraint("message_id", "model", name=op.f("uq_embeddings_message_id")),
        sa.UniqueConstraint("memory_id", "model", name=op.f("uq_embeddings_memory_id")),
    )
    op.create_index(op.f("ix_embeddings_user_id"), "embeddings", ["user_id"])

    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_fts("messages")
        _create_sqlite_fts("memories")
    else:
        for table, expression in _PG_VECTORS.items():
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
                f"GENERATED ALWAYS AS ({expression}) STORED"
            )
            op.execute(
                f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _drop_sqlite_fts("memories")
        _drop_sqlite_fts("messages")
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_search_vector")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
    op.drop_table("embeddings")
    op.drop_table("conversation_summaries")
    op.drop_table("memories")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("speaker")
