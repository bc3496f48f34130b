"""The inbox's store (memory/inbox.py): an event stored once, a chat's events claimed one
at a time in stored order, a live replica's claims kept, a dead one's taken over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db.models import InboxEvent, Replica
from memory.db.sqltypes import utcnow
from memory.inbox import InboxStore
from memory.replicas import LIVE, Heartbeat


@pytest.fixture
async def beating(engine: AsyncEngine) -> AsyncIterator[tuple[Heartbeat, Heartbeat]]:
    """Two live replicas, "a" and "b"."""
    a, b = Heartbeat(engine, "a"), Heartbeat(engine, "b")
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await b.stop()
        await a.stop()


async def put(store: InboxStore, event_id: str, chat: str = "c1") -> bool:
    return await store.put("telegram", event_id, chat, {"update_id": event_id, "chat": chat})


def ids(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.event_id for e in events]


async def test_an_event_is_stored_once_and_its_payload_kept(engine: AsyncEngine) -> None:
    store = InboxStore(engine, "a")
    assert await put(store, "1")
    assert not await put(store, "1")  # a redelivery
    # The same id on another platform is another event.
    assert await store.put("slack", "1", "C1", {"event_id": "1"})
    claimed = await store.claim(["telegram"], limit=10)
    assert [(e.event_id, e.payload) for e in claimed] == [("1", {"update_id": "1", "chat": "c1"})]
    await store.done(claimed[0].id)
    assert not await put(store, "1")  # done, and still known: not stored again
    assert await store.waiting() == 1  # the Slack one


async def test_a_chats_events_are_claimed_one_at_a_time_in_stored_order(
    engine: AsyncEngine,
) -> None:
    store = InboxStore(engine, "a")
    for event_id, chat in [("1", "c1"), ("2", "c2"), ("3", "c1"), ("4", "c1"), ("5", "c2")]:
        await put(store, event_id, chat)
    first = await store.claim(["telegram"], limit=10)
    assert ids(first) == ["1", "2"]  # each chat's oldest only
    held = {e.id for e in first}
    assert await store.claim(["telegram"], limit=10, holding=held) == []
    await store.done(first[0].id)
    second = await store.claim(["telegram"], limit=10, holding=held - {first[0].id})
    assert ids(second) == ["3"]  # c2's next still waits for "2"
    assert await store.claim(["slack"], limit=10) == []  # only the platforms asked for


async def test_a_live_replicas_claim_is_kept_and_a_gone_ones_taken_over(
    engine: AsyncEngine, beating: tuple[Heartbeat, Heartbeat]
) -> None:
    a, b = InboxStore(engine, "a"), InboxStore(engine, "b")
    await put(a, "1")
    assert ids(await a.claim(["telegram"], limit=10)) == ["1"]
    # However old the claim, "a" still beats: it is handing the event on.
    async with engine.begin() as connection:
        await connection.execute(
            update(InboxEvent).values(claimed_at=utcnow() - timedelta(hours=3))
        )
    if engine.dialect.name == "postgresql":
        assert await b.claim(["telegram"], limit=10) == []
    # "a" stops beating: gone after LIVE, and its event is "b"'s.
    async with engine.begin() as connection:
        await connection.execute(
            update(Replica)
            .where(Replica.id == "a")
            .values(seen_at=utcnow() - LIVE - timedelta(seconds=1))
        )
    assert ids(await b.claim(["telegram"], limit=10)) == ["1"]


async def test_a_stopped_replicas_claim_is_taken_over_at_once(
    engine: AsyncEngine, beating: tuple[Heartbeat, Heartbeat]
) -> None:
    a, b = InboxStore(engine, "a"), InboxStore(engine, "b")
    await put(a, "1")
    await put(a, "2")
    assert ids(await a.claim(["telegram"], limit=10)) == ["1"]
    await beating[0].stop()
    taken = await b.claim(["telegram"], limit=10)
    assert ids(taken) == ["1"]  # and "2" still waits for it
    await b.done(taken[0].id)
    assert ids(await b.claim(["telegram"], limit=10)) == ["2"]


async def test_this_replicas_own_claim_is_taken_again_only_once_it_lets_go(
    engine: AsyncEngine,
) -> None:
    a = InboxStore(engine, "a")
    await put(a, "1")
    [event] = await a.claim(["telegram"], limit=10)
    assert await a.claim(["telegram"], limit=10, holding={event.id}) == []
    # Marking it done failed (say the database went away): claimed again later.
    assert ids(await a.claim(["telegram"], limit=10)) == ["1"]


async def test_done_events_are_pruned_and_waiting_ones_kept(engine: AsyncEngine) -> None:
    store = InboxStore(engine, "a")
    await put(store, "1", "c1")
    await put(store, "2", "c2")
    [one, _two] = await store.claim(["telegram"], limit=10)
    await store.done(one.id)
    assert await store.prune(utcnow() - timedelta(hours=1)) == 0
    assert await store.prune(utcnow() + timedelta(seconds=1)) == 1
    assert await store.waiting() == 1
    assert await put(store, "1", "c1")  # forgotten: a very late redelivery is new again


async def test_replicas_claiming_at_once_never_share_an_event(postgres_url: str) -> None:
    from memory import db

    engine = db.create_engine(postgres_url)
    await db.upgrade(engine)
    try:
        stores = [InboxStore(engine, f"r{n}") for n in range(4)]
        for n in range(200):
            await put(stores[0], str(n), f"c{n % 50}")
        seen: list[str] = []

        async def work(store: InboxStore) -> None:
            while True:
                claimed = await store.claim(["telegram"], limit=5)
                if not claimed:
                    if await store.waiting() == 0:
                        return
                    await asyncio.sleep(0.01)
                    continue
                for event in claimed:
                    seen.append(event.event_id)
                    await store.done(event.id)

        await asyncio.gather(*(work(s) for s in stores))
        assert sorted(seen, key=int) == [str(n) for n in range(200)]  # each once
        for chat in range(50):  # and each chat's in stored order
            mine = [int(e) for e in seen if int(e) % 50 == chat]
            assert mine == sorted(mine)
    finally:
        await engine.dispose()
