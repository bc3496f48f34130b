"""Stops asked across replicas: when `/stop` last reached some replica for a turn that
another replica was running (bot/chat/stops.py), one row per conversation. A notice
tells the running replica at once; this row is what it finds when it missed the notice."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading, writing
from memory.db.models import StopRequest, table

_stops = table(StopRequest)


class StopRequests:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def ask(self, conversation_id: int, at: datetime) -> None:
        """Stop the turn of this conversation that is running at `at`."""
        statement = self._insert(_stops).values(conversation_id=conversation_id, asked_at=at)
        statement = statement.on_conflict_do_update(
            index_elements=["conversation_id"], set_={"asked_at": at}
        )
        async with writing(self._engine) as connection:
            await connection.execute(statement)

    async def asked(self, conversation_ids: Collection[int]) -> dict[int, datetime]:
        """When a stop was last asked, for those of these conversations that had one."""
        query = select(_stops.c.conversation_id, _stops.c.asked_at).where(
            _stops.c.conversation_id.in_(list(conversation_ids))
        )
        async with reading(self._engine) as connection:
            return {row.conversation_id: row.asked_at for row in await connection.execute(query)}
