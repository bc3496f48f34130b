"""Which database objects the models-vs-migrations comparison looks at.

Kept out of env.py so tests can import it (env.py only runs inside Alembic).
"""

from __future__ import annotations

from typing import Any

# Tables that live in the database but belong to others (APScheduler) or are
# maintained by triggers (full-text shadow tables): autogenerate leaves them alone.
FOREIGN_TABLE_PREFIXES = ("apscheduler_", "messages_fts", "memories_fts", "sqlite_")
# PostgreSQL-only full-text parts made by migration 0002 (no SQLite equivalent in
# the models): the generated tsvector columns and their GIN indexes.
BACKEND_ONLY_NAMES = {"search_vector", "ix_messages_search_vector", "ix_memories_search_vector"}


def include_name(name: str | None, type_: str, _parents: dict[str, Any]) -> bool:
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(FOREIGN_TABLE_PREFIXES)
    if type_ in ("column", "index"):
        return name not in BACKEND_ONLY_NAMES
    return True
