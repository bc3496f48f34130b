"""Processed-event claims on real SQLite and PostgreSQL, and their migration up and down."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import inspect

from memory import db
from memory.events import EventStore
from memory.sqltypes import utcnow


async def test_a_key_is_claimed_once_per_platform(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        store = EventStore(engine)
        assert await store.claim("slack", "Ev1") is True
        assert await store.claim("slack", "Ev1") is False
        assert await store.claim("telegram", "Ev1") is True
        assert await store.is_claimed("slack", "Ev1")

        await store.release("slack", "Ev1")
        assert not await store.is_claimed("slack", "Ev1")
        assert await store.claim("slack", "Ev1") is True
    finally:
        await engine.dispose()


async def test_concurrent_claims_of_one_key_let_exactly_one_through(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        store = EventStore(engine)
        results = await asyncio.gather(*(store.claim("slack", "EvSame") for _ in range(8)))
        assert sorted(results) == [False] * 7 + [True]
    finally:
        await engine.dispose()


async def test_prune_forgets_only_old_claims(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        store = EventStore(engine)
        await store.claim("slack", "old")
        assert await store.prune(utcnow() - timedelta(hours=1)) == 0
        assert await store.prune(utcnow() + timedelta(seconds=1)) == 1
        assert not await store.is_claimed("slack", "old")
    finally:
        await engine.dispose()


def _tables(connection: object) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_events_migration_goes_up_and_down(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine, "0004_events")
        async with engine.connect() as connection:
            assert "processed_events" in await connection.run_sync(_tables)
        await db.downgrade(engine, "0001")
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
        assert "processed_events" not in tables and "messages" in tables
        await db.upgrade(engine, "0004_events")
        assert await EventStore(engine).claim("slack", "again")
    finally:
        await engine.dispose()
