"""Work in flight belongs to its replica while it lives (memory/replicas.py): another
replica's start-up or stale check takes over a delivery or expires an approval only
when its owner stopped or stopped beating, or, for an unknown owner, by age."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.approvals import ApprovalStore
from memory.db.models import Approval, Delivery, Replica
from memory.db.sqltypes import utcnow
from memory.deliveries import DeliveryStore, OutgoingMessage
from memory.replicas import LIVE, Heartbeat
from tests.memory.conftest import person

STALE = timedelta(minutes=2)


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


async def delivery_state(engine: AsyncEngine) -> list[tuple[str, str | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Delivery.status, Delivery.claimed_by).order_by(Delivery.id)
        )
        return [(row[0], row[1]) for row in rows]


async def claimed_by_a(engine: AsyncEngine) -> DeliveryStore:
    store = DeliveryStore(engine, "a")
    await store.add(OutgoingMessage("k1", "test", "c1", "", "hello"))
    assert [d.key for d in await store.claim(["test"])] == ["k1"]
    return store


async def test_a_live_replicas_delivery_is_never_taken_over(
    engine: AsyncEngine, beating: tuple[Heartbeat, Heartbeat]
) -> None:
    await claimed_by_a(engine)
    async with engine.begin() as connection:
        await connection.execute(update(Delivery).values(claimed_at=utcnow() - timedelta(hours=3)))
    b = DeliveryStore(engine, "b")
    # However old the claim: "a" still beats, so it is still sending it.
    assert await b.release_stale(STALE) == 0
    assert await b.release_stale(timedelta(0)) == 0
    assert await delivery_state(engine) == [("sending", "a")]


async def test_a_stopped_replicas_delivery_is_taken_over_at_once(
    engine: AsyncEngine, beating: tuple[Heartbeat, Heartbeat]
) -> None:
    await claimed_by_a(engine)
    await beating[0].stop()
    assert await DeliveryStore(engine, "b").release_stale(STALE) == 1
    assert await delivery_state(engine) == [("pending", None)]


async def test_a_killed_replicas_delivery_is_taken_over_once_it_stops_beating(
    engine: AsyncEngine, beating: tuple[Heartbeat, Heartbeat]
) -> None:
    await claimed_by_a(engine)
    b = DeliveryStore(engine, "b")
    assert await b.release_stale(STALE) == 0
    # "a" was killed: its heartbeat stopped without saying so. LIVE later it is gone.
    assert await b.release_stale(STALE, utcnow() + LIVE + timedelta(seconds=1)) == 1
    assert await delivery_state(engine) == [("pending", None)]


async def test_unknown_and_own_claims_keep_the_age_rule(
    engine: AsyncEngine, beating: tuple[Heartbeat, Heartbeat]
) -> None:
    await claimed_by_a(engine)
    legacy = DeliveryStore(engine)  # no replica id: written before 0014, or `chat -m`
    await legacy.add(OutgoingMessage("k2", "test", "c1", "", "old"))
    await legacy.claim(["test"])
    a = DeliveryStore(engine, "a")
    assert await a.release_stale(STALE) == 0  # both too young
    later = utcnow() + STALE + timedelta(seconds=1)
    # "a" knows it is not sending its own row any more when it is that old; the
    # unknown one is anybody's by then. (Only LIVE passed for "a" at `later` when
    # seen from elsewhere, so read "later" as "a" keeps beating.)
    async with engine.begin() as connection:
        await connection.execute(update(Replica).values(seen_at=later))
    assert await a.release_stale(STALE, later) == 2
    assert await delivery_state(engine) == [("pending", None), ("pending", None)]


async def approval_statuses(engine: AsyncEngine) -> list[tuple[str, str | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(Approval.status, Approval.owner).order_by(Approval.id)
        )
        return [(row[0], row[1]) for row in rows]


async def test_a_starting_replica_expires_only_approvals_nobody_waits_for(
    engine: AsyncEngine, beating: tuple[Heartbeat, Heartbeat]
) -> None:
    ana = await person(engine, "ana")
    for owner in ("a", None, "gone"):
        store = ApprovalStore(engine, owner)
        await store.create(ana.chat.id, ana.user.id, "shell", "{}", "run", "why")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO replicas (id, host, pid, started_at, seen_at)"
                " VALUES ('gone', 'h', 1, :t, NULL)"
            ),
            {"t": utcnow()},
        )
    b = ApprovalStore(engine, "b")
    assert await b.expire_waiting(before=utcnow()) == 2
    assert await approval_statuses(engine) == [
        ("waiting", "a"),  # its turn is still waiting in a live replica
        ("expired", None),  # asked by an unknown process before "b" started
        ("expired", "gone"),  # its replica stopped
    ]
    await beating[0].stop()
    assert await b.expire_waiting(before=utcnow() - timedelta(hours=1)) == 1
    assert [status for status, _ in await approval_statuses(engine)] == ["expired"] * 3


async def test_a_replica_registers_beats_and_says_it_stopped(engine: AsyncEngine) -> None:
    one = Heartbeat(engine, "one")
    await one.start()
    async with engine.connect() as connection:
        first = (await connection.execute(select(Replica.seen_at))).scalar_one()
    await one.beat()
    async with engine.connect() as connection:
        assert (await connection.execute(select(Replica.seen_at))).scalar_one() >= first
    await one.stop()
    async with engine.connect() as connection:
        assert (await connection.execute(select(Replica.seen_at))).scalar_one() is None
