"""Which platform events were already taken: persistent deduplication of redeliveries.

Chat platforms redeliver an event when they are unsure it arrived (Slack retries
unacknowledged events with the same `event_id`). Claiming the key before acting
makes a redelivery a no-op, also after a restart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import ProcessedEvent
from memory.db.sqltypes import utcnow


class EventStore:
    """Claims on (platform, event key); a key can be claimed once."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def claim(self, platform: str, event_key: str) -> bool:
        """True if this is the first claim of the key; False for a redelivery."""
        statement = (
            self._insert(ProcessedEvent)
            .values(platform=platform, event_key=event_key, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["platform", "event_key"])
        )
        async with self._sessions() as session, session.begin():
            result = await session.execute(statement)
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, platform: str, event_key: str) -> None:
        """Forget a claim whose event could not be taken after all, so a redelivery is."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(ProcessedEvent).where(
                    ProcessedEvent.platform == platform, ProcessedEvent.event_key == event_key
                )
            )

    async def is_claimed(self, platform: str, event_key: str) -> bool:
        async with self._sessions() as session:
            found = await session.execute(
                select(ProcessedEvent.id).where(
                    ProcessedEvent.platform == platform, ProcessedEvent.event_key == event_key
                )
            )
            return found.first() is not None

    async def prune(self, before: datetime) -> int:
        """Delete claims older than `before` (platforms stop redelivering within hours)."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(ProcessedEvent).where(ProcessedEvent.created_at < before)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
