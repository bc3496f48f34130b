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
from typing import Any

import aiohttp
import pytest

from tests.adapters.slack.harness import ALICE, dm
from tests.bot.harness.background import is_task_step, step_of
from tests.fakes.openai_server import FakeOpenAI, Reply, echo
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


def container_env(
    postgres_url: str, fake_llm: FakeOpenAI, slack: FakeSlack, tmp_path: Path, port: int
) -> dict[str, str]:
    """The environment docker-compose.yml gives the container, pointed at the fakes."""
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
        CLAWLING_LLM_MAX_RETRIES="0",
        CLAWLING_MODEL="fake",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.api_url,
        CLAWLING_TASK_PROGRESS_SECONDS="0.3",
    )
    return env


async def start_command(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        CLAWLING, "run", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """SIGTERM, as `docker stop` sends; the exit code and what it wrote to stderr."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    try:
        _out, err = await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        _out, err = await process.communicate()
    return int(process.returncode or 0), err.decode()


async def test_start_command_serves_and_stops_without_losing_an_answer(
    postgres_url: str, fake_llm: FakeOpenAI, slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    process = await start_command(container_env(postgres_url, fake_llm, slack, tmp_path, port))
    try:
        await slack.wait_connected(60)  # a whole process starts: slow on a busy machine

        async def ready() -> bool:
            return await http_status(port, "/readyz") == 200

        await until(ready)
        assert await http_status(port, "/healthz") == 200

        await slack.send_envelope("events_api", event_body(dm("hello from the container")))
        await slack.wait_for(lambda: "echo: hello from the container" in slack.texts())

        fake_llm.add(Reply(text="finished before stopping", delay=1.5))
        await slack.send_envelope("events_api", event_body(dm("a slow one")))
        await until(lambda: asyncio.sleep(0, len(fake_llm.requests) == 2))
    finally:
        code, err = await stop(process)
    assert code == 0, err
    assert "finished before stopping" in slack.texts()


def counting(request: dict[str, Any]) -> Reply:
    """A model that works on a task one step at a time, finishing at step 20."""
    if not is_task_step(request):
        return echo(request)
    step = step_of(request)
    if step >= 20:
        return Reply(tool_calls=[("finish", {"result": f"counted to {step}"})])
    return Reply(tool_calls=[("save_note", {"note": f"step {step}"})], delay=0.1)


async def test_sigterm_during_a_task_loses_nothing(
    postgres_url: str, fake_llm: FakeOpenAI, slack: FakeSlack, tmp_path: Path
) -> None:
    fake_llm.responder = counting
    env = container_env(postgres_url, fake_llm, slack, tmp_path, free_port())
    first = await start_command(env)
    try:
        await slack.send_envelope("events_api", event_body(dm("/task count to twenty")))
        await until(lambda: asyncio.sleep(0, sum(map(is_task_step, fake_llm.requests)) >= 5))
    finally:
        code, err = await stop(first)
    assert code == 0, err
    stopped_at = max(step_of(r) for r in fake_llm.requests if is_task_step(r))
    before = len(fake_llm.requests)

    second = await start_command(env)
    try:
        await slack.wait_for(lambda: any("counted to 20" in t for t in slack.texts()), 60)
        await asyncio.sleep(1)  # a second delivery would arrive right behind the first
    finally:
        code, err = await stop(second)
    assert code == 0, err
    resumed = [step_of(r) for r in fake_llm.requests[before:] if is_task_step(r)]
    assert resumed and resumed[0] <= stopped_at + 1 and resumed[-1] == 20
    assert resumed[0] > 1, "resumed from its checkpoint, not from the start"
    assert sum("counted to 20" in t for t in slack.texts()) == 1
