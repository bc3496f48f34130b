"""Two `clawling run` processes in Slack's Socket Mode on one PostgreSQL database: one
holds the socket (never two at once), the other stands by; SIGKILL the holder and the
other connects within seconds and answers what Slack sent meanwhile, once
(bot/chat/receivers.py)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.leaders import ready, receives, wait_until
from tests.adapters.slack.harness import ALICE, BOB, dm
from tests.adapters.telegram.test_replica_processes import ROOT, Replica
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack, event_body

HAND_OVER_LIMIT = 15.0  # seconds; the receivers' lock is tried every 2 s


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def holders(
    slack: FakeSlack, fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> AsyncIterator[list[Replica]]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAWLING_", "OPENAI_", "TELEGRAM_", "SLACK_"))
    }
    env = {
        **base,
        "PYTHONPATH": ROOT,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "CLAWLING_DATABASE_URL": postgres_url,
        "CLAWLING_DATA_DIR": str(tmp_path / "data"),
        "CLAWLING_LOG_LEVEL": "WARNING",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "SLACK_ALLOWED_USERS": f"{ALICE},{BOB}",
    }
    started = [Replica(env), Replica(env)]
    try:
        for replica in started:
            await replica.start()
        yield started
    finally:
        for replica in started:
            await replica.stop()


async def test_one_replica_holds_socket_mode_and_another_takes_over_when_it_is_killed(
    holders: list[Replica], slack: FakeSlack
) -> None:
    await slack.send_envelope("events_api", event_body(dm("hello", user=ALICE)))
    await slack.wait_for(lambda: slack.texts("DALICE") == ["echo: hello"], 30)
    assert slack.connections == 1

    async with aiohttp.ClientSession() as http:
        holding = [await receives(http, replica.port) for replica in holders]
        assert holding.count(True) == 1
        assert all([await ready(http, replica.port) for replica in holders])
        holder, standby = holders[holding.index(True)], holders[holding.index(False)]
        await holder.kill()
        killed_at = time.monotonic()
        await slack.wait_for(lambda: slack.open_sockets == 0, 10)
        for user in (ALICE, BOB):
            event = event_body(dm("are you still there?", user=user))
            # Slack holds events while no connection is open; the fake waits for one.
            ack = await slack.send_envelope("events_api", event)
            assert ack["envelope_id"]
        await wait_until(lambda: receives(http, standby.port), 5)

    connected = slack.connected_at[-1] - killed_at
    await slack.wait_for(
        lambda: (
            slack.texts("DBOB") == ["echo: are you still there?"]
            and len(slack.texts("DALICE")) == 2
        ),
        30,
    )
    answered = time.monotonic() - killed_at
    print(
        f"\nhand-over: the standby opened Socket Mode {connected:.1f} s after the holder's"
        f" SIGKILL; both chats answered {answered:.1f} s after it"
    )
    assert connected < HAND_OVER_LIMIT
    assert slack.texts("DALICE") == ["echo: hello", "echo: are you still there?"]
    assert slack.most_sockets == 1  # never two connections at once
    assert slack.connections == 2
