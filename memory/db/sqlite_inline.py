"""SQLite on the event loop's own thread, for SQLAlchemy's aiosqlite dialect.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a worker
thread, so each statement crosses threads four or five times, and each crossing
hands the GIL over. With dozens of statements per turn that cost more than the
statements themselves: bench/turn_overhead.py measured about half the
throughput of running them in place. SQLite answers our statements in
microseconds, so here they run directly on the loop's thread.

The one thing that must not happen on the loop is waiting for another writer
(another process, or APScheduler's job store on its thread): the connection's
busy timeout is zero, and a statement that finds the database locked is run
again on a worker thread, with the usual timeout, while the loop goes on.

Because a call either never leaves the loop's thread or is waited for to the
end (even when the awaiting task is cancelled), no call on this connection can be
interrupted halfway; memory/db/engine.py relies on that to close connections without
SQLAlchemy's protective task.

This object stands in for `aiosqlite.Connection` under SQLAlchemy's adapter
(passed as `async_creator`), so it offers the same small surface.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from memory.retrieval.cjk import SQL_FUNCTION, index_text

LOCK_WAIT_MS = 10_000


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    ) or ("locked" in str(exc))


class _Waiter:
    """Runs a blocking call in place; when the database is locked, again off the loop."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def run(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc):
                raise
        waiting = asyncio.get_running_loop().run_in_executor(None, self._patiently, call)
        # A cancelled caller still waits for the worker: the connection must not be
        # used (rolled back, handed to the next task) while the call runs on it.
        cancelled: asyncio.CancelledError | None = None
        while True:
            try:
                result = await asyncio.shield(waiting)
            except asyncio.CancelledError as exc:
                if waiting.done():
                    raise
                cancelled = exc
            else:
                break
        if cancelled is not None:
            raise cancelled
        return result

    def _patiently(self, call: Callable[[], Any]) -> Any:
        self._connection.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        try:
            return call()
        finally:
            self._connection.execute("PRAGMA busy_timeout=0")


class InlineCursor:
    """An aiosqlite-style cursor over a sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor, waiter: _Waiter) -> None:
        self._cursor = cursor
        self._waiter = waiter

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(
        self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()
    ) -> InlineCursor:
        await self._waiter.run(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, seq: Iterable[Any]) -> InlineCursor:
        rows = list(seq)
        await self._waiter.run(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size else self._cursor.fetchmany()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorOpener:
    """What `connection.cursor()` returns in aiosqlite: awaitable, or entered with `async with`."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection

    def _open(self) -> InlineCursor:
        return InlineCursor(self._connection._conn.cursor(), self._connection._waiter)

    async def __aenter__(self) -> InlineCursor:
        return self._open()

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __await__(self) -> Any:
        async def opened() -> InlineCursor:
            return self._open()

        return opened().__await__()


class _RunNow:
    """SQLAlchemy sets the isolation level by queueing a call on aiosqlite's worker
    (`_tx.put_nowait((future, function))`); here the call simply runs."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the waiting future, as aiosqlite does
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection:
    """An aiosqlite-style connection whose calls run on the caller's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()
        self._waiter = _Waiter(connection)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> _CursorOpener:
        return _CursorOpener(self)

    async def commit(self) -> None:
        await self._waiter.run(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def inline_connector(path: str) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine: one InlineConnection to `path`."""

    async def connect() -> InlineConnection:
        # Used only from the loop's thread, and from a worker while the loop awaits it.
        connection = sqlite3.connect(path, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=0")
        # The full-text triggers read CJK text through it (migration 0010_cjk_search).
        connection.create_function(SQL_FUNCTION, 1, index_text, deterministic=True)
        return InlineConnection(connection)

    return connect
