"""Engines and URLs: an async engine per database URL (SQLite on the loop's own thread,
PostgreSQL through asyncpg), the connections a turn opens, and the reachability check."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import weakref
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy import create_engine as create_sync_engine_raw
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
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
    """The database cannot be reached or used; the message says which and why.

    `reason` is the why alone, without the URL, for places that must not show it."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


# Query parameters that carry credentials (libpq also reads `password` from the query).
_SECRET_QUERY = re.compile(r"([?&][\w.-]*?(?:password|passwd|pwd|secret|token|key)=)[^&#]*", re.I)
_UNREADABLE = (
    "it cannot be read as a database URL (is the port a number, and are @, / and : in "
    "the password written as %40, %2F and %3A?)"
)


def _parse(url: str) -> URL:
    try:
        return make_url(url.replace("postgres://", "postgresql://", 1))
    except (ValueError, ArgumentError):
        raise DatabaseUnavailable(f"the database URL is malformed: {_UNREADABLE}") from None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be Clawling's database, in words that never repeat the URL (it
    may hold a password); None when it can."""
    try:
        parsed = _parse(url)
    except DatabaseUnavailable:
        return _UNREADABLE
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return "it names no database file (an in-memory database would be lost at exit)"
        if parsed.database.endswith("/") or Path(parsed.database).is_dir():
            return "it names a folder, not a database file"
        return None
    if backend != "postgresql":
        return "only sqlite and postgresql URLs are supported"
    if parsed.host and "@" in parsed.host:
        return "the password contains @: write it as %40"
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return "the port must be a number from 1 to 65535"
    return None


def async_url(url: str) -> URL:
    """The URL with an asyncio driver (aiosqlite / asyncpg)."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    return parsed.set(drivername="postgresql+asyncpg")


def sync_url(url: str) -> URL:
    """The URL with a blocking driver (pysqlite / psycopg), for APScheduler and tools."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite")
    return parsed.set(drivername="postgresql+psycopg")


def safe_url(url: str | URL) -> str:
    """The URL with its password and secret query parameters hidden, for messages and
    logs. Never raises: a URL that does not parse, or whose password holds an unescaped
    `@` (read as part of the host), is masked from the user's `:` to its last `@`."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ValueError, ArgumentError):
        parsed = None
    if parsed is not None and "@" not in (parsed.host or ""):
        text = parsed.render_as_string(hide_password=True)
    else:
        text = re.sub(r"(://[^:/@]*:).*@", r"\1***@", str(url))
    return _SECRET_QUERY.sub(r"\1***", text)


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


_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit TO OFF")


async def commit_without_flush_wait(connection: AsyncConnection) -> None:
    """Let the transaction under way on `connection` commit without waiting for its WAL
    to reach the disk (PostgreSQL; nothing on SQLite). For bookkeeping whose loss only
    repeats work — a claim, a "done" or "sent" mark: should the database server itself
    crash within a fraction of a second of the commit, the row reverts as a whole;
    the process that committed it, killed, loses nothing."""
    if connection.dialect.name == "postgresql":
        await connection.execute(_NO_FLUSH_WAIT)


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


async def check_reachable(engine: AsyncEngine, within: float = 10.0) -> None:
    """Raise DatabaseUnavailable with a one-line reason if the database cannot be used."""
    try:
        async with asyncio.timeout(within):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except TimeoutError:
        reason = f"no answer within {within:.0f} s"
        raise DatabaseUnavailable(
            f"no answer from {safe_url(engine.url)} within {within:.0f} s", reason
        ) from None
    except Exception as exc:  # noqa: BLE001 - any driver error means the same to the user
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"{safe_url(engine.url)}: {reason}", reason) from None


def is_transient(exc: BaseException) -> bool:
    """A database error that may pass by itself: a lock held too long, a lost connection,
    a server restarting. (Bad SQL or broken constraints never pass.)"""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError) and isinstance(exc.orig, sqlite3.Error):
        # SQLite reports a missing table the same way as a lock: only a lock passes.
        reason = str(exc.orig).lower()
        return "locked" in reason or "busy" in reason
    return isinstance(exc, OperationalError | InterfaceError)
