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
    inbox_claimant,
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


@pytest.mark.parametrize("mode", ["webhook", "polling"])
@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_an_update_telegram_was_told_of_is_answered_once_after_a_kill(
    kind: str,
    mode: str,
    request: pytest.FixtureRequest,
    telegram: FakeTelegram,
    fake_llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    database_url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "sqlite_url")
    polling = mode == "polling"
    polling_env = {"TELEGRAM_MODE": "polling", "CLAWLING_PUBLIC_URL": None} if polling else {}
    env = replica_env(telegram, fake_llm, database_url, tmp_path, **polling_env)
    person = PEOPLE[0]
    first, second = Replica(env), Replica(env)
    postgres = kind == "postgresql"
    try:
        await first.start()
        if postgres:
            await second.start()  # polling: it waits, the first one polls
        downloads = telegram.holds["getFile"] = asyncio.Event()
        file = telegram.add_file(b"eggs, milk, bread", "list.txt")
        update = with_a_file(person, file, 9001)
        if polling:
            telegram.push_update({"message": update["message"]})
        else:
            async with aiohttp.ClientSession() as http:
                await first.post(http, update)  # the 200 came: the update is stored
        # The replica that claimed the update (any replica's inbox may) is now stuck
        # fetching the file, the update not yet a message. Polling: the next poll told
        # Telegram the update arrived (Telegram no longer has it). Kill it there.
        await telegram.wait_for(lambda: "getFile" in telegram.calls, 30)
        await telegram.wait_for(lambda: not telegram.unconfirmed, 30)
        holder = await inbox_claimant(database_url)
        victim = next(r for r in (first, second) if r.process and r.process.pid == holder)
        await victim.kill()
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
        print(f"\n{kind}, {mode}: the update waited {waited:.1f} s from the kill to its answer")
    finally:
        await first.kill()
        await second.stop()
