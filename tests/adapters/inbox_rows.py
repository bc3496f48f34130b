"""What the inbox holds (memory/inbox.py), read straight from the database, and a
replica that claimed an event and died, for the adapters' inbox tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from memory import db
from memory.db.models import InboxEvent
from memory.inbox import InboxStore
from memory.replicas import Heartbeat


async def inbox_rows(database_url: str, platform: str) -> list[tuple[str, bool]]:
    """(event id, done) of each stored event of `platform`, in stored order."""
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(InboxEvent.event_id, InboxEvent.done_at)
                .where(InboxEvent.platform == platform)
                .order_by(InboxEvent.id)
            )
            return [(event_id, done_at is not None) for event_id, done_at in rows]
    finally:
        await engine.dispose()


async def claimed_by_a_dead_replica(
    database_url: str, platform: str, event_id: str, chat: str, payload: dict[str, Any]
) -> None:
    """Store an event and claim it as a replica that then stopped without handing it on."""
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        heartbeat = Heartbeat(engine, "dead-replica")
        await heartbeat.start()
        store = InboxStore(engine, heartbeat.replica_id)
        assert await store.put(platform, event_id, chat, payload)
        assert [e.event_id for e in await store.claim([platform], limit=1)] == [event_id]
        await heartbeat.stop()
    finally:
        await engine.dispose()
