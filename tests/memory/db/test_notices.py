"""Notices between replicas (memory/db/notices.py): heard by every listener on the
database, the sender too; a failing handler does not keep the others from hearing;
sending never fails its caller; SQLite sends and hears nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from memory import db
from memory.db.notices import Notices


@pytest.fixture
async def pair(postgres_url: str) -> AsyncIterator[tuple[Notices, Notices]]:
    engine = db.create_engine(postgres_url)
    first, second = Notices(engine, "first"), Notices(engine, "second")
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await second.stop()
        await first.stop()
        await engine.dispose()


async def until(condition: object, seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_every_replica_hears_a_notice_by_its_kind(pair: tuple[Notices, Notices]) -> None:
    first, second = pair
    heard: dict[str, list[str]] = {"first": [], "second": [], "other kind": []}
    first.on("people", heard["first"].append)
    second.on("people", heard["second"].append)
    second.on("skills", heard["other kind"].append)
    assert first.listening.is_set() and second.listening.is_set()

    await first.publish("people", 12)
    await until(lambda: heard["first"] and heard["second"])
    assert heard == {"first": ["12"], "second": ["12"], "other kind": []}


async def test_a_failing_handler_does_not_stop_the_next_one(
    pair: tuple[Notices, Notices], caplog: pytest.LogCaptureFixture
) -> None:
    first, second = pair
    heard: list[str] = []

    def broken(key: str) -> None:
        raise ValueError(key)

    second.on("approval", broken)
    second.on("approval", heard.append)
    await first.publish("approval", "not-a-number")
    await until(lambda: heard)
    assert heard == ["not-a-number"]
    assert "a handler of 'approval' notices failed" in caplog.text


async def test_sending_to_a_database_that_is_gone_only_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = db.create_engine("postgresql://nobody@127.0.0.1:1/none")
    notices = Notices(engine)
    with caplog.at_level(logging.WARNING):
        await notices.publish("people", 1)
    assert "could not tell the other replicas 'people:1' changed" in caplog.text
    await engine.dispose()


async def test_sqlite_neither_sends_nor_listens(sqlite_url: str) -> None:
    engine = db.create_engine(sqlite_url)
    notices = Notices(engine)
    heard: list[str] = []
    notices.on("people", heard.append)
    await notices.start()
    await notices.publish("people", 1)
    notices.announce("people", 2)
    await asyncio.sleep(0.05)
    await notices.stop()
    assert not notices.shared and not notices.listening.is_set() and heard == []
    await engine.dispose()
