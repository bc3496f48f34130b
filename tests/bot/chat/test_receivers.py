"""Receivers: the one process that holds the receivers' lock receives (bot/chat/receivers.py).

Two `Receivers` on one real PostgreSQL database stand for two replicas; the adapters are
stand-ins that record whether they were told to receive (what polling or Socket Mode
does with it is tested with the adapters and in the multi-process tests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.channels import SoleReceiver
from bot.chat.receivers import Receivers
from memory import db
from memory.db.leader import ADVISORY_KEY, RECEIVERS_KEY, Leadership

QUICK = 0.05


class Receiving:
    """A chat adapter's receiving part, as `Receivers` sees it."""

    def __init__(self, *, fails: bool = False) -> None:
        self.on = False
        self.starts = 0
        self._fails = fails

    @property
    def receives_alone(self) -> bool:
        return True

    async def start_receiving(self) -> None:
        self.starts += 1
        if self._fails:
            raise ConnectionError("the platform is unreachable")
        self.on = True

    async def stop_receiving(self) -> None:
        self.on = False


@pytest.fixture
async def engines(postgres_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """Replicas' engines: each its own pool, as processes have."""
    engines = [db.create_engine(postgres_url) for _ in range(3)]
    try:
        yield engines
    finally:
        for engine in engines:
            await engine.dispose()


def replica(engine: AsyncEngine, adapter: Receiving) -> Receivers:
    receivers = Receivers(Leadership(engine, key=RECEIVERS_KEY, name="receivers"), retry=QUICK)
    receivers.adapters.append(adapter)
    return receivers


async def soon(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


def test_the_stand_in_is_what_receivers_drive() -> None:
    assert isinstance(Receiving(), SoleReceiver)


async def test_one_of_two_receives_and_the_other_takes_over_when_it_stops(
    engines: list[AsyncEngine],
) -> None:
    first, second = Receiving(), Receiving()
    a, b = replica(engines[0], first), replica(engines[1], second)
    await a.start()
    await b.start()
    try:
        assert (a.receiving, first.on) == (True, True)
        await asyncio.sleep(QUICK * 4)  # the standby has tried again meanwhile
        assert (b.receiving, second.on) == (False, False)
        await a.stop()
        assert not first.on
        await soon(lambda: second.on)
        assert b.receiving
    finally:
        await a.stop()
        await b.stop()


async def test_a_holder_whose_connection_died_stops_and_another_receives(
    engines: list[AsyncEngine],
) -> None:
    first, second = Receiving(), Receiving()
    a, b = replica(engines[0], first), replica(engines[1], second)
    await a.start()
    await b.start()
    try:
        assert first.on
        # As when the holder's database connection breaks: PostgreSQL drops its lock.
        async with engines[1].connect() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": RECEIVERS_KEY},
            )
        await soon(lambda: second.on)
        await soon(lambda: not first.on)  # never both for longer than one check
        assert (a.receiving, b.receiving) == (False, True)
    finally:
        await a.stop()
        await b.stop()


async def test_a_failure_to_receive_at_start_stops_start_up_and_frees_the_lock(
    engines: list[AsyncEngine],
) -> None:
    broken, working = Receiving(fails=True), Receiving()
    a, b = replica(engines[0], broken), replica(engines[1], working)
    with pytest.raises(ConnectionError):
        await a.start()
    await b.start()
    try:
        assert working.on and not a.receiving
    finally:
        await a.stop()
        await b.stop()


async def test_a_standby_that_cannot_take_over_leaves_the_lock_to_another(
    engines: list[AsyncEngine],
) -> None:
    holding, broken, working = Receiving(), Receiving(fails=True), Receiving()
    h, a, b = (replica(e, r) for e, r in zip(engines, (holding, broken, working), strict=True))
    await h.start()
    await a.start()
    try:
        await h.stop()
        await soon(lambda: broken.starts >= 1)  # took the lock, failed, let it go
        await b.start()
        await soon(lambda: working.on)
        assert not a.receiving and not broken.on
    finally:
        for receivers in (h, a, b):
            await receivers.stop()


async def test_the_background_leader_and_the_receivers_are_two_locks(
    engines: list[AsyncEngine],
) -> None:
    background = Leadership(engines[0], key=ADVISORY_KEY)
    assert await background.try_acquire()
    adapter = Receiving()
    receivers = replica(engines[1], adapter)
    await receivers.start()
    try:
        assert adapter.on  # the scheduler's leader elsewhere does not keep it from receiving
    finally:
        await receivers.stop()
        await background.release()


async def test_a_process_with_nothing_to_receive_takes_no_lock(
    engines: list[AsyncEngine],
) -> None:
    idle = Receivers(Leadership(engines[0], key=RECEIVERS_KEY, name="receivers"), retry=QUICK)
    await idle.start()
    adapter = Receiving()
    other = replica(engines[1], adapter)
    await other.start()
    try:
        assert adapter.on and not idle.receiving
    finally:
        await other.stop()
        await idle.stop()


async def test_on_sqlite_the_one_process_receives_from_the_start(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    adapter = Receiving()
    receivers = replica(engine, adapter)
    try:
        await receivers.start()
        assert adapter.on and receivers.receiving
        await receivers.stop()
        assert not adapter.on
    finally:
        await receivers.stop()
        await engine.dispose()
