"""Two `clawling run` processes in webhook mode on one PostgreSQL database: the tool call
one of them asks about is approved by a "yes" that the load balancer hands to the
other, and runs once (bot/safety/approvals.py, memory/db/notices.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.telegram.test_replica_processes import (
    PEOPLE,
    Replica,
    replica_env,
    update,
)
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.telegram_server import FakeTelegram


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def replicas(
    telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> AsyncIterator[list[Replica]]:
    env = replica_env(telegram, fake_llm, postgres_url, tmp_path, PEOPLE, CLAWLING_SHELL="true")
    started = [Replica(env), Replica(env)]
    try:
        for replica in started:
            await replica.start()
        yield started
    finally:
        for replica in started:
            await replica.stop()


async def test_a_yes_reaching_the_other_process_runs_the_call_once(
    replicas: list[Replica], telegram: FakeTelegram, fake_llm: FakeOpenAI
) -> None:
    person = PEOPLE[0]
    fake_llm.add(Reply(tool_calls=[("shell", {"command": "echo ran-once"})]))
    fake_llm.add(Reply(text="done"))

    def said(fragment: str) -> bool:
        return any(fragment in words for words in telegram.texts(person["id"]))

    async with aiohttp.ClientSession() as http:
        await replicas[0].post(http, update(person, "run it", 1))
        await telegram.wait_for(lambda: said("Confirmation needed (#1)"), 30)
        await replicas[1].post(http, update(person, "yes", 2))
        await telegram.wait_for(lambda: said("done"), 30)

    texts = telegram.texts(person["id"])
    assert [t for t in texts if t.startswith("Approved #1")] != []
    assert texts[-1] == "done"
    outputs = [
        m["content"]
        for request in fake_llm.requests
        for m in request["messages"]
        if m["role"] == "tool"
    ]
    assert len(fake_llm.requests) == 2
    assert len(outputs) == 1 and "\nran-once\n\n[exit code 0]" in outputs[0]
