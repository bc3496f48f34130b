"""SQLite statements run on the loop's thread, but waiting for another writer does not."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from memory import db


async def test_a_locked_database_is_waited_for_off_the_event_loop(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (v TEXT)"))
    # Another process (here: another connection) holds the write lock.
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES ('mine')"))

    beating = asyncio.create_task(heartbeat())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()  # still waiting for the lock...
    assert ticks >= 10  # ...while the loop kept running
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 10)
    beating.cancel()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT v FROM t"))).scalars().all() == ["mine"]
    other.close()
    await engine.dispose()


async def test_errors_are_the_usual_sqlalchemy_errors(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
        await connection.execute(text("INSERT INTO t VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES ('a')"))
    async with engine.connect() as connection:  # the failed transaction left nothing behind
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1
    await engine.dispose()


async def test_a_cancelled_wait_for_the_lock_leaves_the_connection_whole(tmp_path: Path) -> None:
    """Cancelling a statement that waits for another writer returns only once the
    statement has finished on its worker: the connection is never rolled back or
    handed on while in use (which is what lets memory/db/engine.py close it directly)."""
    engine = db.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    async with db.writing(engine) as connection:
        await connection.execute(text("CREATE TABLE t (v TEXT)"))
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with db.writing(engine) as connection:
            await connection.execute(text("INSERT INTO t VALUES ('cancelled')"))

    writing = asyncio.create_task(write())
    await asyncio.sleep(0.2)
    writing.cancel()
    await asyncio.sleep(0.2)
    assert not writing.done()  # the INSERT still waits on its worker
    other.execute("COMMIT")
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(writing, 10)
    async with db.writing(engine) as connection:
        await connection.execute(text("INSERT INTO t VALUES ('next')"))
    async with db.reading(engine) as connection:
        assert (await connection.execute(text("SELECT v FROM t"))).scalars().all() == ["next"]
    other.close()
    await engine.dispose()


async def test_writing_commits_on_success_and_rolls_back_on_error(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    async with db.writing(engine) as connection:
        await connection.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
        await connection.execute(text("INSERT INTO t VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with db.writing(engine) as connection:
            await connection.execute(text("INSERT INTO t VALUES ('b')"))
            await connection.execute(text("INSERT INTO t VALUES ('a')"))
    async with db.reading(engine) as connection:
        assert (await connection.execute(text("SELECT v FROM t"))).scalars().all() == ["a"]
    await engine.dispose()
