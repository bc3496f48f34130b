"""Database plumbing: engines and URLs (engine.py), migrations (migrate.py), SQLite on the
loop's thread, column types, the models, the locks between processes (the background
leader's, one process per SQLite file in sole.py, a conversation's turn in turn_lock.py)
and backups.
Stores live one level up and reach the database only through what this package offers.

The names below are what the rest of the code uses as `from memory import db; db.X`.
"""

from memory.db.engine import (
    DatabaseUnavailable,
    async_url,
    check_reachable,
    commit_without_flush_wait,
    create_engine,
    create_sync_engine,
    is_transient,
    reading,
    safe_url,
    sync_url,
    writing,
)
from memory.db.migrate import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    include_name,
    upgrade,
)

__all__ = [
    "DatabaseUnavailable",
    "alembic_config",
    "async_url",
    "check_reachable",
    "commit_without_flush_wait",
    "create_engine",
    "create_sync_engine",
    "current_revision",
    "downgrade",
    "head_revision",
    "is_transient",
    "include_name",
    "reading",
    "safe_url",
    "sync_url",
    "upgrade",
    "writing",
]
