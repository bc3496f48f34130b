"""Search in Chinese, Japanese and Korean: the full-text indexes read CJK text as
character unigrams and bigrams (memory/retrieval/cjk.py), and every stored message and
memory is indexed again.

- SQLite: the FTS5 tables are made anew with the text and label passed through the SQL
  function `clawling_search_text`, which every connection of the app registers
  (memory/db/sqlite_inline.py). A connection without it cannot write messages or
  memories, so hand-made changes go through `clawling` (or register the function).
- PostgreSQL: the function is created in SQL (immutable) and the generated
  `search_vector` columns are rebuilt over it; rebuilding rewrites the tables.

Downgrading restores the indexes of 0004_memory, without the grams.

Revision ID: 0010_cjk_search
Revises: 0009_people
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

from memory.retrieval.cjk import SEARCH_TEXT_FUNCTION, SQL_FUNCTION

revision: str = "0010_cjk_search"
down_revision: str | None = "0009_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TOKENIZER = "porter unicode61 remove_diacritics 2"
_SEARCHABLE = "{row}.role IN ('user', 'assistant') AND {row}.content <> ''"

# Per table: text, label and scope tokens as 0004_memory indexed them, which rows, and
# the columns whose change re-indexes a row.
_SQLITE = {
    "messages": (
        "{row}.content",
        "coalesce({row}.speaker, '')",
        "'u' || coalesce({row}.user_id, 0) || ' c' || {row}.conversation_id",
        _SEARCHABLE,
        "content, speaker, role, user_id, conversation_id",
    ),
    "memories": (
        "{row}.content",
        "{row}.kind || ' ' || {row}.key",
        "'u' || {row}.user_id",
        "1",
        "content, kind, key, user_id",
    ),
}


def _grams(expression: str) -> str:
    return f"{SQL_FUNCTION}({expression})"


def _sqlite_values(table: str, row: str, grams: bool) -> str:
    content, label, scope, _, _ = _SQLITE[table]
    if grams:
        content, label = _grams(content), _grams(label)
    return ", ".join(part.format(row=row) for part in (content, label, scope))


def _rebuild_sqlite(table: str, *, grams: bool) -> None:
    fts = f"{table}_fts"
    for suffix in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {fts}")
    when, watch = _SQLITE[table][3], _SQLITE[table][4]
    insert_new = (
        f"INSERT INTO {fts}(rowid, content, label, scope) "
        f"SELECT new.id, {_sqlite_values(table, 'new', grams)} WHERE {when.format(row='new')};"
    )
    delete_old = (
        f"INSERT INTO {fts}({fts}, rowid, content, label, scope) "
        f"SELECT 'delete', old.id, {_sqlite_values(table, 'old', grams)} "
        f"WHERE {when.format(row='old')};"
    )
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5(content, label, scope, content='', "
        f"tokenize='{_TOKENIZER}')"
    )
    op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert_new} END")
    op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete_old} END")
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {watch} ON {table} "
        f"BEGIN {delete_old} {insert_new} END"
    )
    op.execute(
        f"INSERT INTO {fts}(rowid, content, label, scope) "
        f"SELECT id, {_sqlite_values(table, table, grams)} FROM {table} "
        f"WHERE {when.format(row=table)}"
    )


def _pg_vectors(grams: bool) -> dict[str, str]:
    """The generated columns' expressions: text weight A, label B, scope tokens D."""

    def words(expression: str) -> str:
        return _grams(expression) if grams else expression

    content = words("left(content, 200000)")
    speaker = words("coalesce(speaker, '')")
    label = words("kind || ' ' || key")
    return {
        "messages": (
            "CASE WHEN role IN ('user', 'assistant') AND content <> '' THEN "
            f"setweight(to_tsvector('english', {content}), 'A') || "
            f"setweight(to_tsvector('english', {speaker}), 'B') || "
            "setweight(to_tsvector('simple', 'u' || coalesce(user_id, 0)::text || ' c' || "
            "conversation_id::text), 'D') END"
        ),
        "memories": (
            f"setweight(to_tsvector('english', {content}), 'A') || "
            f"setweight(to_tsvector('english', {label}), 'B') || "
            "setweight(to_tsvector('simple', 'u' || user_id::text), 'D')"
        ),
    }


def _rebuild_postgres(*, grams: bool) -> None:
    for table, expression in _pg_vectors(grams).items():
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_vector")
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({expression}) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _SQLITE:
            _rebuild_sqlite(table, grams=True)
        return
    op.execute(SEARCH_TEXT_FUNCTION)
    _rebuild_postgres(grams=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _SQLITE:
            _rebuild_sqlite(table, grams=False)
        return
    _rebuild_postgres(grams=False)
    op.execute(f"DROP FUNCTION IF EXISTS {SQL_FUNCTION}(text)")
