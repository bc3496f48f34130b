"""One leader per database for a job only one process may do at a time.

Two such jobs, each with its own lock, so they may land on different replicas: the
background leader (the scheduler and task workers, `ADVISORY_KEY`) and the receivers'
holder (Telegram's long polling and Slack's Socket Mode, `RECEIVERS_KEY`).

On PostgreSQL a lock is a session advisory lock held on a dedicated connection, so
any number of replicas may run and exactly one leads; if it dies, its
connection closes and another takes over. On SQLite (one machine) it is an OS
file lock beside the database file, released by the kernel even after kill -9.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# "ClawLead" as a 64-bit integer: the advisory lock key for the background leader
# (memory/db/migrate.py's migration lock uses "Clawling"; the two must differ).
ADVISORY_KEY = int.from_bytes(b"ClawLead", "big")
# "ClawRecv": the replica that holds the chat apps' receiving connections.
RECEIVERS_KEY = int.from_bytes(b"ClawRecv", "big")


class Leadership:
    """One lock: `key` on PostgreSQL, `<db>.<name>.lock` on SQLite."""

    def __init__(
        self, engine: AsyncEngine, *, key: int = ADVISORY_KEY, name: str = "leader"
    ) -> None:
        self._engine = engine
        self._key = key
        self._name = name
        self._connection: AsyncConnection | None = None
        self._fd: int | None = None
        self.held = False

    @property
    def _sqlite_file(self) -> Path | None:
        url = make_url(str(self._engine.url))
        if url.get_backend_name() != "sqlite":
            return None
        if not url.database or url.database == ":memory:":
            return None
        return Path(url.database)

    @property
    def _is_sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    async def try_acquire(self) -> bool:
        """Become the leader if nobody else is; True when this process now leads."""
        if self.held:
            return True
        if self._is_sqlite:
            self.held = self._lock_file()
        else:
            self.held = await self._lock_advisory()
        return self.held

    async def still_held(self) -> bool:
        """False when the lock was lost (the database connection broke)."""
        if not self.held or self._is_sqlite:
            return self.held
        if self._connection is None:
            return False
        try:
            await self._connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means the lock is gone
            log.error("lost the %s lock's database connection: %s", self._name, exc)
            await self.release()
            return False
        return True

    async def release(self) -> None:
        self.held = False
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._connection is not None:
            with contextlib.suppress(Exception):
                # Closed for good, not handed back to the pool: a pooled connection
                # would keep its session, and the lock with it.
                await self._connection.invalidate()
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None

    def _lock_file(self) -> bool:
        path = self._sqlite_file
        if path is None:
            return True  # an in-memory database belongs to this process alone
        fd = os.open(f"{path}.{self._name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def _lock_advisory(self) -> bool:
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            got = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            )
        except Exception:
            await connection.close()
            raise
        if not got:
            await connection.close()
            return False
        self._connection = connection
        return True
