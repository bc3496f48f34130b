"""An update Telegram was told arrived survives its process: a real `clawling run` takes
an update with a file — answering its webhook 200, or confirming it by polling again —
is SIGKILLed while downloading it (the update claimed, not yet stored as a message),
and another process answers it exactly once. On PostgreSQL that
is a replica already running, once the killed one's heartbeat is LIVE old; on SQLite
the next process, at once (one process per file: a claim not its own is a dead one's).
Prints how long the update waited."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.adapters.inbox_rows import inbox_rows
from tests.adapters.telegram.test_replica_processes import (
    PEOPLE,
    Replica,
    answered_by,
    replica_env,
)
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram


def with_a_file(person: dict[str, Any], file: dict[str, Any], update_id: int) -> dict[str, Any]:
    chat = FakeTelegram.private(person)
    document = {**file, "file_name": "list.txt", "mime_type": "text/plain"}
    message = {
        "message_id": update_id,
        "date": 1,
        "chat": chat,
        "from": person,
        "caption": "what is on my list?",
        "document": document,
    }
    return {"update_id": update_id, "message": message}


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_an_update_answered_200_is_answered_once_after_its_process_is_killed(
    kind: str,
    request: pytest.FixtureRequest,
    telegram: FakeTelegram,
    fake_llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    database_url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "sqlite_url")
    env = replica_env(telegram, fake_llm, database_url, tmp_path)
    person = PEOPLE[0]
    first, second = Replica(env), Replica(env)
    postgres = kind == "postgresql"
    try:
        await first.start()
        if postgres:
            await second.start()
        downloads = telegram.holds["getFile"] = asyncio.Event()
        file = telegram.add_file(b"eggs, milk, bread", "list.txt")
        async with aiohttp.ClientSession() as http:
            await first.post(http, with_a_file(person, file, 9001))
        # The 200 came: the update is stored. The first process is now stuck fetching
        # the file, the update claimed and not yet a message: kill it there.
        await telegram.wait_for(lambda: "getFile" in telegram.calls, 30)
        await first.kill()
        killed = time.monotonic()
        downloads.set()
        assert await inbox_rows(database_url, "telegram") == [("9001", False)]

        if not postgres:
            await second.start()
        await telegram.wait_for(lambda: bool(telegram.texts(person["id"])), 60)
        waited = time.monotonic() - killed
        await asyncio.sleep(1.0)  # a second answer would arrive meanwhile
        assert len(telegram.texts(person["id"])) == 1
        [asked] = fake_llm.requests
        assert any("what is on my list?" in words for words in answered_by(asked))
        assert await inbox_rows(database_url, "telegram") == [("9001", True)]
        print(f"\n{kind}: the update waited {waited:.1f} s from the kill to its answer")
    finally:
        await first.kill()
        await second.stop()


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_a_polled_update_confirmed_to_telegram_is_answered_once_after_a_kill(
    kind: str,
    request: pytest.FixtureRequest,
    telegram: FakeTelegram,
    fake_llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    database_url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "sqlite_url")
    env = replica_env(
        telegram,
        fake_llm,
        database_url,
        tmp_path,
        TELEGRAM_MODE="polling",
        CLAWLING_PUBLIC_URL=None,
    )
    person = PEOPLE[1]
    first, second = Replica(env), Replica(env)
    postgres = kind == "postgresql"
    try:
        await first.start()
        if postgres:
            await second.start()  # waits: the first one polls
        downloads = telegram.holds["getFile"] = asyncio.Event()
        file = telegram.add_file(b"eggs, milk, bread", "list.txt")
        update = with_a_file(person, file, 9002)
        telegram.push_update({"message": update["message"]})
        # The first process polled the update and is stuck fetching its file; its next
        # poll told Telegram the update arrived (Telegram no longer has it). Kill it.
        await telegram.wait_for(lambda: "getFile" in telegram.calls, 30)
        await telegram.wait_for(lambda: not telegram.unconfirmed, 30)
        await first.kill()
        killed = time.monotonic()
        downloads.set()
        [(stored, done)] = await inbox_rows(database_url, "telegram")
        assert not done

        if not postgres:
            await second.start()
        await telegram.wait_for(lambda: bool(telegram.texts(person["id"])), 60)
        waited = time.monotonic() - killed
        await asyncio.sleep(1.0)  # a second answer would arrive meanwhile
        assert len(telegram.texts(person["id"])) == 1
        [asked] = fake_llm.requests
        assert any("what is on my list?" in words for words in answered_by(asked))
        assert await inbox_rows(database_url, "telegram") == [(stored, True)]
        print(f"\n{kind}: the polled update waited {waited:.1f} s from the kill to its answer")
    finally:
        await first.kill()
        await second.stop()
