"""Database engines, URLs and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as create_sync_engine_raw
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncTransaction,
    create_async_engine,
)

import migrations
from memory.db.sqlite_inline import LOCK_WAIT_MS, inline_connector

MIGRATIONS_DIR = Path(migrations.__file__).parent


class DatabaseUnavailable(Exception):
    """The database cannot be reached or used; the message says which and why."""


def async_url(url: str) -> URL:
    """The URL with an asyncio driver (aiosqlite / asyncpg)."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed.set(drivername="postgresql+asyncpg")


def sync_url(url: str) -> URL:
    """The URL with a blocking driver (pysqlite / psycopg), for APScheduler and tools."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed.set(drivername="postgresql+psycopg")


def safe_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(wait_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers work while a turn writes; NORMAL is durable at checkpoints
        # and never corrupts, and avoids an fsync per message.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
        cursor.close()

    return on_connect


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`; creates the SQLite file's folder if needed."""
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite lets one writer in at a time, and a writer that finds the lock
        # taken sleeps in SQLite's busy handler for up to 100 ms between tries.
        # One connection shared in turn by every task queues writers in
        # asyncio instead, which is much faster under load. Its statements run
        # on the loop's thread (see memory/sqlite_inline.py); waiting for
        # another process's lock happens on a worker thread.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 60)
        database = parsed.database or ":memory:"
        engine = create_async_engine(parsed, async_creator=inline_connector(database), **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(0))
        _INLINE.add(engine.sync_engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, **kwargs)


# Engines whose connections are memory/sqlite_inline.py's.
_INLINE: weakref.WeakSet[Engine] = weakref.WeakSet()


def reading(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """`engine.connect()`, for the statements of every turn.

    SQLAlchemy closes an async connection in a task of its own, shielded, so that a
    cancellation cannot interrupt the close halfway; creating and awaiting that task
    costs about a third of a short read. The inline SQLite connection cannot be
    interrupted halfway (see memory/sqlite_inline.py), so on it the connection is
    closed directly. Other databases keep SQLAlchemy's own context manager.
    """
    if engine.sync_engine in _INLINE:
        return _Reading(engine)
    return engine.connect()


def writing(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """`engine.begin()`: one transaction, committed on success, rolled back on error;
    on the inline SQLite connection without the shielded close (see `reading`)."""
    if engine.sync_engine in _INLINE:
        return _Writing(engine)
    return engine.begin()


class _Reading:
    def __init__(self, engine: AsyncEngine) -> None:
        self._connection = engine.connect()

    async def __aenter__(self) -> AsyncConnection:
        return await self._connection.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._connection.close()


class _Writing(_Reading):
    _transaction: AsyncTransaction

    async def __aenter__(self) -> AsyncConnection:
        connection = await super().__aenter__()
        try:
            self._transaction = await connection.begin().start()
        except BaseException:
            await connection.close()
            raise
        return connection

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if kind is None:
                await self._transaction.commit()
            else:
                await self._transaction.rollback()
        finally:
            await self._connection.close()


def create_sync_engine(url: str) -> Engine:
    """A blocking engine on the same database (APScheduler's job store needs one)."""
    parsed = sync_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_sync_engine_raw(parsed)
        event.listen(engine, "connect", _sqlite_pragmas(LOCK_WAIT_MS))
        return engine
    return create_sync_engine_raw(parsed, pool_pre_ping=True, pool_size=2)


# Tables that live in the database but belong to others (APScheduler) or are
# maintained by triggers (full-text shadow tables): autogenerate and the
# models-vs-migrations test leave them alone.
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


async def check_reachable(engine: AsyncEngine, within: float = 10.0) -> None:
    """Raise DatabaseUnavailable with a one-line reason if the database cannot be used."""
    try:
        async with asyncio.timeout(within):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except TimeoutError:
        raise DatabaseUnavailable(
            f"no answer from {safe_url(engine.url)} within {within:.0f} s"
        ) from None
    except Exception as exc:  # noqa: BLE001 - any driver error means the same to the user
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"{safe_url(engine.url)}: {reason}") from None
