"""The container's start command (`clawling run`), run directly as Docker would run it:
against PostgreSQL, serving Slack in Socket Mode, stopped with SIGTERM mid-answer."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.slack.harness import ALICE, dm
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, FakeSlack, event_body

CLAWLING = str(Path(sys.executable).parent / "clawling")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    try:
        yield fake
    finally:
        await fake.stop()


async def http_status(port: int, path: str) -> int:
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}{path}") as response:
                return response.status
    except aiohttp.ClientError:
        return 0


async def until(condition, within: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.1)


async def test_start_command_serves_and_stops_without_losing_an_answer(
    postgres_url: str, fake_llm: FakeOpenAI, slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_", "SLACK_"))
    }
    env.update(
        CLAWLING_DATABASE_URL=postgres_url,
        CLAWLING_DATA_DIR=str(tmp_path / "data"),
        CLAWLING_HTTP_HOST="127.0.0.1",
        CLAWLING_HTTP_PORT=str(port),
        CLAWLING_OWNERS=f"slack:{ALICE}",
        OPENAI_API_KEY="test",
        OPENAI_BASE_URL=fake_llm.url,
        CLAWLING_MODEL="fake",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.api_url,
    )
    process = await asyncio.create_subprocess_exec(
        CLAWLING, "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        await slack.wait_connected()

        async def ready() -> bool:
            return await http_status(port, "/readyz") == 200

        await until(ready)
        assert await http_status(port, "/healthz") == 200

        await slack.send_envelope("events_api", event_body(dm("hello from the container")))
        await slack.wait_for(lambda: "echo: hello from the container" in slack.texts())

        fake_llm.add(Reply(text="finished before stopping", delay=1.5))
        await slack.send_envelope("events_api", event_body(dm("a slow one")))
        await until(lambda: asyncio.sleep(0, len(fake_llm.requests) == 2))
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    _out, err = await process.communicate()
    assert code == 0, err.decode()
    assert "finished before stopping" in slack.texts()
