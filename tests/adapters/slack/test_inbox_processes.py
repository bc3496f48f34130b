"""A Slack event acknowledged survives its process: a real `clawling run` — in HTTP mode
(its 200) or Socket Mode (its ack) — takes a DM, is SIGKILLed while looking its sender's
name up (the event claimed, not yet stored as a message), and another process answers
it exactly once: on PostgreSQL a replica already running, on SQLite the next process.
Prints how long the event waited."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from tests.adapters.inbox_rows import inbox_rows
from tests.adapters.slack.harness import dm
from tests.adapters.telegram.test_replica_processes import ROOT, Replica, inbox_claimant
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    SlackEvents,
    event_body,
)


def slack_env(
    slack: FakeSlack, fake_llm: FakeOpenAI, database_url: str, data: Path, *, socket: bool = False
) -> dict[str, str]:
    """The environment of a `clawling run` serving Slack's HTTP mode (or Socket Mode) on
    `database_url`."""
    prefixes = ("CLAWLING_", "OPENAI_", "TELEGRAM_", "SLACK_")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(prefixes)},
        "PYTHONPATH": ROOT,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "CLAWLING_DATABASE_URL": database_url,
        "CLAWLING_DATA_DIR": str(data),
        "CLAWLING_LOG_LEVEL": "WARNING",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        **({"SLACK_APP_TOKEN": APP_TOKEN} if socket else {"SLACK_SIGNING_SECRET": SIGNING_SECRET}),
        "SLACK_API_URL": slack.api_url,
        "SLACK_ALLOWED_USERS": "UALICE",
    }


@pytest.mark.parametrize("mode", ["http", "socket"])
@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
async def test_an_event_acknowledged_is_answered_once_after_its_process_is_killed(
    kind: str,
    mode: str,
    request: pytest.FixtureRequest,
    fake_slack: FakeSlack,
    fake_llm: FakeOpenAI,
    tmp_path: Path,
) -> None:
    database_url = request.getfixturevalue("postgres_url" if kind == "postgresql" else "sqlite_url")
    socket = mode == "socket"
    env = slack_env(fake_slack, fake_llm, database_url, tmp_path / "data", socket=socket)
    postgres = kind == "postgresql"
    first, second = Replica(env), Replica(env)
    try:
        await first.start()
        if postgres:
            await second.start()
        lookups = fake_slack.holds["users.info"] = asyncio.Event()
        event = event_body(dm("are you keeping this?"), "EvKILL1")
        if socket:
            ack = await fake_slack.send_envelope("events_api", event)
            assert ack["envelope_id"]
        else:
            events = SlackEvents(f"http://127.0.0.1:{first.port}/slack/events")
            status, _ = await events.post(json.dumps(event))
            assert status == 200
        # Stored; the first process now waits on Slack for its sender's name: kill it.
        await fake_slack.wait_for(lambda: fake_slack.called("users.info"), 30)
        # Whichever replica's inbox claimed it (any may) is the one stuck: kill that one.
        holder = await inbox_claimant(database_url)
        victim = next(r for r in (first, second) if r.process and r.process.pid == holder)
        await victim.kill()
        killed = time.monotonic()
        lookups.set()
        assert await inbox_rows(database_url, "slack") == [("EvKILL1", False)]

        if not postgres:
            await second.start()
        await fake_slack.wait_for(lambda: fake_slack.texts("DALICE"), 60)
        waited = time.monotonic() - killed
        await asyncio.sleep(1.0)  # a second answer would arrive meanwhile
        assert fake_slack.texts("DALICE") == ["echo: are you keeping this?"]
        assert len(fake_llm.requests) == 1
        assert await inbox_rows(database_url, "slack") == [("EvKILL1", True)]
        print(f"\n{kind}, {mode}: the event waited {waited:.1f} s from the kill to its answer")
    finally:
        await first.kill()
        await second.stop()
