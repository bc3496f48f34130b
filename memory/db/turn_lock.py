"""One turn at a time per conversation, across every process on the database.

Within a process the session manager's queue keeps a conversation's turns in order;
that is all SQLite needs (one process per SQLite database, memory/db/sole.py). On
PostgreSQL several replicas may take messages of one conversation, so a turn is
answered while holding a session advisory lock keyed by the conversation: a replica
whose message arrives meanwhile waits for it, then answers what is still unanswered
(the turn before may have answered its message too: then it has nothing to do).

The lock lives on a connection of its own, from a pool of its own sized for the
concurrent turns (locks held for a whole turn must not starve the turns' own queries
of connections).
If the process dies, PostgreSQL drops its connection and the lock with it. Waiting is
polling `pg_try_advisory_lock`, not a blocking `pg_advisory_lock`: a wait can then be
cancelled (`/stop`, shutdown) at any moment without a statement left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

# The first key of the two-key advisory lock space ("CTrn"); the leader and migration
# locks use the one-key space, which PostgreSQL keeps apart from this one.
TURN_SPACE = int.from_bytes(b"CTrn", "big")
_INT4 = 0x7FFFFFFF
FIRST_WAIT = 0.05
LONGEST_WAIT = 0.5

_TRY = text("SELECT pg_try_advisory_lock(:space, :key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:space, :key)")
# A two-key advisory lock shows in pg_locks as classid, objid and objsubid 2.
_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = :space AND objid = :key AND objsubid = 2)"
)


class TurnLocks:
    """`async with locks.hold(conversation_id):` around a turn."""

    def __init__(self, engine: AsyncEngine, holders: int) -> None:
        self._engine: AsyncEngine | None = None
        if engine.dialect.name == "postgresql":
            # Turns hold at most `holders` (the session manager's slots); queued
            # commands (/new), which take no slot, briefly hold one of the overflow.
            self._engine = create_async_engine(
                engine.url, pool_size=holders, max_overflow=holders, pool_pre_ping=True
            )

    @property
    def shared(self) -> bool:
        """Whether other processes may run this database's turns (PostgreSQL)."""
        return self._engine is not None

    @contextlib.asynccontextmanager
    async def hold(self, conversation_id: int) -> AsyncIterator[None]:
        if self._engine is None:
            yield
            return
        params = {"space": TURN_SPACE, "key": conversation_id & _INT4}
        connection = await _acquire(self._engine, params)
        try:
            yield
        finally:
            await asyncio.shield(self._release(connection, params))

    async def held(self, conversation_id: int) -> bool:
        """Whether a turn (or queued command) of this conversation runs in some replica
        (False on SQLite, where this process's queue knows)."""
        if self._engine is None:
            return False
        params = {"space": TURN_SPACE, "key": conversation_id & _INT4}
        async with self._engine.connect() as connection:
            return bool(await connection.scalar(_HELD, params))

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()

    @staticmethod
    async def _release(connection: AsyncConnection, params: dict[str, int]) -> None:
        try:
            await connection.scalar(_UNLOCK, params)
        except Exception as exc:  # noqa: BLE001 - a broken connection took the lock with it
            log.warning("could not unlock a conversation's turn (%s); dropping the connection", exc)
            await connection.invalidate()
        finally:
            await connection.close()


async def _acquire(engine: AsyncEngine, params: dict[str, int]) -> AsyncConnection:
    wait = FIRST_WAIT
    while True:
        connection = await engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            if await connection.scalar(_TRY, params):
                return connection
        except BaseException:
            await connection.close()
            raise
        # Held by another turn (here or in another replica): give the connection back
        # while waiting, so waiting turns cannot take every connection.
        await connection.close()
        await asyncio.sleep(wait)
        wait = min(2 * wait, LONGEST_WAIT)
