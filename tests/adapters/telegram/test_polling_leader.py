"""Two `clawling run` processes in polling mode on one PostgreSQL database: one polls
(the fake Telegram answers 409 to a second poller, as Telegram does, and none comes),
the other only stands by; SIGKILL the poller and the other polls within seconds, and
what was sent meanwhile — and the turn the killed one was answering — is answered
once (bot/chat/receivers.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.leaders import ready, receives, wait_until
from tests.adapters.telegram.test_replica_processes import (
    Replica,
    answered_by,
    replica_env,
    slow,
    user_turns,
)
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.telegram_server import FakeTelegram

PEOPLE = [FakeTelegram.user(400 + n, f"Q{n}") for n in range(3)]
HAND_OVER_LIMIT = 15.0  # seconds; the receivers' lock is tried every 2 s


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def pollers(
    telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> AsyncIterator[list[Replica]]:
    env = replica_env(
        telegram,
        fake_llm,
        postgres_url,
        tmp_path,
        PEOPLE,
        TELEGRAM_MODE="polling",
        TELEGRAM_WEBHOOK_SECRET=None,
        CLAWLING_PUBLIC_URL=None,
    )
    started = [Replica(env), Replica(env)]
    try:
        for replica in started:
            await replica.start()
        yield started
    finally:
        for replica in started:
            await replica.stop()


async def test_one_replica_polls_and_another_takes_over_when_it_is_killed(
    pollers: list[Replica], telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str
) -> None:
    fake_llm.responder = slow(lambda words: 8.0 if words == "slow question" else 0.2)
    chats = {p["id"]: FakeTelegram.private(p) for p in PEOPLE}
    for person in PEOPLE:
        telegram.push_message(chats[person["id"]], person, f"hello from {person['first_name']}")
    await telegram.wait_for(lambda: all(telegram.texts(p["id"]) for p in PEOPLE), 30)

    async with aiohttp.ClientSession() as http:
        holding = [await receives(http, replica.port) for replica in pollers]
        assert holding.count(True) == 1
        # The one that does not poll is ready all the same: it sends.
        assert all([await ready(http, replica.port) for replica in pollers])
        holder, standby = pollers[holding.index(True)], pollers[holding.index(False)]

        # The holder starts a slow turn; it is killed in the middle of it.
        first = PEOPLE[0]
        telegram.push_message(chats[first["id"]], first, "slow question")
        await telegram.wait_for(
            lambda: any("slow question" in answered_by(r) for r in fake_llm.requests), 15
        )
        await holder.kill()
        killed_at = time.monotonic()
        for person in PEOPLE:
            telegram.push_message(chats[person["id"]], person, "are you still there?")

        await wait_until(lambda: receives(http, standby.port), HAND_OVER_LIMIT + 5)
        polled = min(t for t in telegram.polled_at if t > killed_at) - killed_at
        await telegram.wait_for(lambda: all(len(telegram.texts(p["id"])) == 2 for p in PEOPLE), 30)
        answered = max(m.sent_at for m in telegram.messages) - killed_at
        print(
            f"\nhand-over: the standby polled {polled:.1f} s after the poller's SIGKILL;"
            f" all three chats answered {answered:.1f} s after it"
        )
        assert polled < HAND_OVER_LIMIT
        await asyncio.sleep(1.0)  # anything answered twice would arrive meanwhile

    assert telegram.conflicts == 0  # never two pollers at once
    for person in PEOPLE:
        assert telegram.texts(person["id"])[1:] == ["echo: are you still there?"]
    # The killed turn's question is answered with the next message, in one turn.
    together = ["slow question", "are you still there?"]
    assert [answered_by(r) for r in fake_llm.requests].count(together) == 1
    turns = await user_turns(postgres_url)
    assert turns[str(first["id"])] == [
        (f"hello from {first['first_name']}", 1),
        ("slow question", 2),
        ("are you still there?", 2),
    ]
