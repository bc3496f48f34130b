"""The inbox: webhook and HTTP events stored before their 200, handed on by any replica.

A platform that got a 200 never sends the event again, so answering it before the
event is somewhere durable loses it with the process (killed, upgraded, its container
moved). The route stores it here first; then whichever replica claims it hands it to
its adapter, as the route did before.

- An event is stored once per (platform, event id): a redelivery finds its row, done
  rows included, which are kept a day (`KEEP_DONE`) for that.
- One chat's events are handed on one at a time, in the order they were stored: only a
  chat's oldest unfinished event can be claimed, so the next waits for it to be done,
  whichever replica holds it.
- A claim carries the replica's id (memory/replicas.py). A live replica's claims stay
  its own; a gone one's are taken over (`taken_over`: stopped, or silent for `LIVE`). On
  SQLite one process runs at a time (memory/db/sole.py), so every claim but this
  process's is a dead one's. On PostgreSQL rows are claimed `FOR UPDATE SKIP LOCKED`, so
  replicas looking at once never claim the same row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import commit_without_flush_wait, reading, writing
from memory.db.models import InboxEvent, table
from memory.db.sqltypes import utcnow
from memory.replicas import taken_over

KEEP_DONE = timedelta(days=1)
# A claim whose owner is unknown (its replica row was forgotten) is taken over this old.
UNKNOWN_OWNER_AFTER = timedelta(minutes=2)

_inbox = table(InboxEvent)
_earlier = _inbox.alias("earlier")


# An event to store: its id on the platform, its chat, what the platform sent.
NewEvent = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class StoredEvent:
    id: int
    platform: str
    event_id: str
    chat: str
    payload: dict[str, Any]


class InboxStore:
    """Events in, claimed by `replica_id`, marked done."""

    def __init__(self, engine: AsyncEngine, replica_id: str) -> None:
        self._engine = engine
        self._me = replica_id
        self._postgres = engine.dialect.name == "postgresql"
        self._insert = postgresql.insert if self._postgres else sqlite.insert

    @property
    def replica_id(self) -> str:
        return self._me

    async def put(self, platform: str, event_id: str, chat: str, payload: dict[str, Any]) -> bool:
        """Store an event, committed when this returns. False: it was stored before."""
        return await self.put_many(platform, [(event_id, chat, payload)]) == 1

    async def put_many(self, platform: str, events: Sequence[NewEvent]) -> int:
        """Store (event id, chat, payload) events in one transaction, in their order;
        committed when this returns. Returns how many were new."""
        if not events:
            return 0
        now = utcnow()
        statement = (
            self._insert(_inbox)
            .values(
                [
                    {
                        "platform": platform,
                        "event_id": event_id,
                        "chat": chat,
                        "payload": payload,
                        "received_at": now,
                    }
                    for event_id, chat, payload in events
                ]
            )
            .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        )
        async with writing(self._engine) as connection:
            result = await connection.execute(statement)
            return int(result.rowcount or 0)

    async def claim(
        self,
        platforms: Sequence[str],
        *,
        limit: int,
        holding: Collection[int] = (),
        now: datetime | None = None,
    ) -> list[StoredEvent]:
        """Claim up to `limit` events of `platforms` that are next in their chat, oldest
        first. `holding`: ids this replica is handing on now (its other claims are
        leftovers, e.g. when marking one done failed)."""
        if not platforms or limit <= 0:
            return []
        now = now or utcnow()
        query = (
            select(_inbox)
            .where(
                _inbox.c.done_at.is_(None),
                _inbox.c.platform.in_(platforms),
                self._free(now, holding),
                not_(
                    exists().where(
                        _earlier.c.platform == _inbox.c.platform,
                        _earlier.c.chat == _inbox.c.chat,
                        _earlier.c.done_at.is_(None),
                        _earlier.c.id < _inbox.c.id,
                    )
                ),
            )
            .order_by(_inbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=_inbox)
        )
        async with writing(self._engine) as connection:
            await commit_without_flush_wait(connection)  # a lost claim is claimed again
            rows = (await connection.execute(query)).all()
            if rows:
                await connection.execute(
                    update(_inbox)
                    .where(_inbox.c.id.in_([row.id for row in rows]))
                    .values(claimed_by=self._me, claimed_at=now)
                )
        return [StoredEvent(r.id, r.platform, r.event_id, r.chat, r.payload) for r in rows]

    def _free(self, now: datetime, holding: Collection[int]) -> ColumnElement[bool]:
        """Whether a row may be claimed by this replica at `now`."""
        claimed_by = _inbox.c.claimed_by
        mine = and_(claimed_by == self._me, _inbox.c.id.not_in(list(holding)))
        if not self._postgres:  # one process per SQLite file: other claimers are dead
            others = claimed_by != self._me
        else:
            others = and_(
                claimed_by != self._me,
                taken_over(
                    claimed_by,
                    _inbox.c.claimed_at,
                    now=now,
                    me=self._me,
                    before=now - UNKNOWN_OWNER_AFTER,
                ),
            )
        return or_(claimed_by.is_(None), mine, others)

    async def done(self, row_id: int) -> None:
        """The event was handed on (or could not be, and its sender was told)."""
        async with writing(self._engine) as connection:
            # Lost, the event is handed on again: the session manager stores it once.
            await commit_without_flush_wait(connection)
            await connection.execute(
                update(_inbox).where(_inbox.c.id == row_id).values(done_at=utcnow())
            )

    async def waiting(self) -> int:
        """Events not handed on yet."""
        async with reading(self._engine) as connection:
            query = select(func.count()).select_from(_inbox).where(_inbox.c.done_at.is_(None))
            return int((await connection.execute(query)).scalar_one())

    async def prune(self, before: datetime) -> int:
        """Forget events done before `before` (platforms stop redelivering well within)."""
        async with writing(self._engine) as connection:
            result = await connection.execute(delete(_inbox).where(_inbox.c.done_at < before))
            return int(result.rowcount or 0)
