"""Replicas: the processes answering people on this database, each seen by its heartbeat.

What a process has in flight — a delivery it is sending, an approval its turn waits
for — carries that process's replica id. Another process takes such work over only when
its owner is gone: stopped, or not seen for `LIVE` (its heartbeat stopped: killed, or
cut off from the database). So a replica starting never resets or expires the work of
a live one, however long that work takes, and a dead one's work is taken over within
`LIVE` plus the taker's next look, not after a fixed "older than N minutes".

Work whose owner is unknown — written before migration 0014, or by a process that never
started its heartbeat (`clawling chat -m`, which answers one message and exits) — keeps
the old rule: its age decides. So does a process's own work, which it knows it is not
sending any more when it is that old.

The id is host, pid and a random part, so a restarted process (even one given the same
pid, as in a container) is a new replica and its predecessor's rows are seen as gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import writing
from memory.db.models import Replica, table
from memory.db.sqltypes import utcnow

log = logging.getLogger(__name__)

# A replica not seen for this long is gone; it says it is alive four times in it, so a
# loop stalled for a few seconds (a busy machine, a slow commit) is not taken for dead.
LIVE = timedelta(seconds=12)
BEAT_EVERY = 3.0
# Rows of replicas gone this long are deleted at start.
FORGET_AFTER = timedelta(days=1)

_replicas = table(Replica)


def new_replica_id() -> str:
    """This process's id among the replicas: host, pid, and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def others_alive(now: datetime, me: str | None) -> ColumnElement[bool]:
    """Replicas other than `me` seen within LIVE of `now` (a condition on `replicas`)."""
    seen = and_(_replicas.c.seen_at.is_not(None), _replicas.c.seen_at >= now - LIVE)
    return seen if me is None else and_(seen, _replicas.c.id != me)


def held_elsewhere(
    owner: ColumnElement[Any], *, now: datetime, me: str | None
) -> ColumnElement[bool]:
    """Whether work owned by `owner` (a column) is held by another replica that is alive."""
    return and_(owner.is_not(None), owner.in_(select(_replicas.c.id).where(others_alive(now, me))))


def taken_over(
    owner: ColumnElement[Any],
    since: ColumnElement[Any],
    *,
    now: datetime,
    me: str | None,
    before: datetime,
) -> ColumnElement[bool]:
    """Whether work owned by `owner` and held `since` (columns) may be taken over by `me`
    at `now`: never while another live replica holds it; at once when its owner is known
    and gone; otherwise (its owner unknown, or `me`) when it was held `before` then."""
    alive = select(_replicas.c.id).where(others_alive(now, me))
    known = select(_replicas.c.id)
    owner_alive = and_(owner.is_not(None), owner.in_(alive))
    owner_gone = and_(owner.is_not(None), owner.in_(known), not_(owner.in_(alive)))
    if me is not None:
        owner_gone = and_(owner_gone, owner != me)
    return and_(not_(owner_alive), or_(owner_gone, since < before))


class Heartbeat:
    """A `Service`: registers this replica at start, says it is alive every BEAT_EVERY,
    and says it stopped when it stops."""

    def __init__(
        self, engine: AsyncEngine, replica_id: str, *, now: Callable[[], datetime] = utcnow
    ) -> None:
        self._engine = engine
        self.replica_id = replica_id
        self._now = now
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        now = self._now()
        async with writing(self._engine) as connection:
            await connection.execute(
                delete(_replicas).where(
                    or_(_replicas.c.seen_at.is_(None), _replicas.c.seen_at < now - FORGET_AFTER),
                    _replicas.c.started_at < now - FORGET_AFTER,
                )
            )
            await connection.execute(
                insert(_replicas).values(
                    id=self.replica_id,
                    host=socket.gethostname()[:200],
                    pid=os.getpid(),
                    started_at=now,
                    seen_at=now,
                )
            )
        self._task = asyncio.create_task(self._beat())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # a lost database: it will look gone anyway
            async with writing(self._engine) as connection:
                await connection.execute(
                    update(_replicas).where(_replicas.c.id == self.replica_id).values(seen_at=None)
                )

    async def beat(self) -> None:
        """Say this replica is alive."""
        async with writing(self._engine) as connection:
            await connection.execute(
                update(_replicas)
                .where(_replicas.c.id == self.replica_id)
                .values(seen_at=self._now())
            )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(BEAT_EVERY)
            try:
                await self.beat()
            except Exception as exc:  # noqa: BLE001 - the next beat tries again
                log.warning("could not tell the database this replica is alive: %s", exc)
