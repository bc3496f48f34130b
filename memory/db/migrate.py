"""Migrations: Alembic runs on the app's own connection, one process at a time, and
autogenerate leaves other owners' tables alone."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


# Tables that live in the database but belong to others (APScheduler, the procrastinate
# queue) or are maintained by triggers (full-text shadow tables): autogenerate and the
# models-vs-migrations test leave them alone.
FOREIGN_TABLE_PREFIXES = (
    "apscheduler_",
    "procrastinate_",
    "messages_fts",
    "memories_fts",
    "sqlite_",
)
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


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


def _downgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, target)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


# Any fixed number: the PostgreSQL advisory lock that lets one process migrate at a time.
MIGRATION_LOCK = 0x436C61776C696E67  # "Clawling"


async def upgrade(engine: AsyncEngine, target: str = "head") -> None:
    """Run migrations up to `target`; processes starting together take turns, so the
    schema is migrated exactly once (the others find it current)."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            # Held until this transaction commits; PostgreSQL's DDL is transactional,
            # so the next process reads the new version after waiting.
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
            await connection.run_sync(_upgrade, target)
        return
    with _file_lock(engine.url.database):
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, target)


@contextlib.contextmanager
def _file_lock(database: str | None) -> Iterator[None]:
    """An exclusive lock beside the SQLite file, for processes on the same host."""
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def downgrade(engine: AsyncEngine, target: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, target)
