"""Task steps on `clawling worker` processes (CLAWLING_QUEUE_URL, memory/db/queue.py).

The chat side runs in this process (the leader, its deliverer and a recording channel);
two real `clawling worker` processes take the steps from the queue. Each worker talks to
its own fake model server, so which process ran a step is known, and the chat side's
model server fails the test if a step reaches it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from memory.db import async_url
from tests.bot.harness.background import is_task_step, poll, running_app, step_of
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

ROOT = str(Path(__file__).resolve().parents[3])
LAST_STEP = 8
SLOW_STEP = 4  # the step a worker is killed in


class Worker:
    """`clawling worker` in a subprocess, with its own fake model server."""

    def __init__(self, env: dict[str, str], model: FakeOpenAI, log: Path) -> None:
        self.model = model
        self.log = log.open("w")  # read when a test fails
        self.env = {**env, "OPENAI_BASE_URL": model.url}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "worker", "--concurrency", "2", "--http-port", "0",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip

    def steps(self) -> list[int]:
        return [step_of(r) for r in self.model.requests if is_task_step(r)]

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)
        self.log.close()
        return self.process.returncode


def counting(request: dict[str, Any]) -> Reply:
    """A task that notes each step and finishes at LAST_STEP; SLOW_STEP's first try hangs
    long enough to kill the worker running it (and ends long before the test does: the
    fake server waits for open requests when it stops)."""
    step = step_of(request)
    if step >= LAST_STEP:
        return Reply(tool_calls=[("finish", {"result": f"counted to {step}"})])
    slow = step == SLOW_STEP and not counting.seen_slow  # type: ignore[attr-defined]
    counting.seen_slow = counting.seen_slow or slow  # type: ignore[attr-defined]
    return Reply(tool_calls=[("save_note", {"note": f"step {step}"})], delay=10 if slow else 0.1)


def chat_only(request: dict[str, Any]) -> Reply:
    if is_task_step(request):
        raise AssertionError("a task step ran in the chat process")
    return echo(request)


@pytest.fixture
async def workers(postgres_url: str, tmp_path: Path) -> AsyncIterator[list[Worker]]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    env = {
        **{k: v for k, v in base.items() if not k.startswith(("TELEGRAM_", "SLACK_"))},
        "PYTHONPATH": ROOT,
        "OPENAI_API_KEY": "test-key",
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "CLAWLING_DATABASE_URL": postgres_url,
        "CLAWLING_QUEUE_URL": postgres_url,
        "CLAWLING_DATA_DIR": str(tmp_path / "worker-data"),
        "CLAWLING_LOG_LEVEL": "WARNING",
    }
    counting.seen_slow = False  # type: ignore[attr-defined]
    with FakeOpenAI(counting) as first, FakeOpenAI(counting) as second:
        started = [Worker(env, first, tmp_path / "a.log"), Worker(env, second, tmp_path / "b.log")]
        try:
            yield started
        finally:
            for worker in started:
                await worker.stop()


async def task_row(database_url: str) -> tuple[str, int, list[int]]:
    """The task's status, step, and the step number of each of its `step` events."""
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            status, step = (await connection.execute(text("SELECT status, step FROM tasks"))).one()
            events = await connection.execute(
                text("SELECT step FROM task_events WHERE kind = 'step' ORDER BY id")
            )
            return str(status), int(step), [int(s) for (s,) in events]
    finally:
        await engine.dispose()


async def test_steps_run_on_workers_and_survive_one_killed_mid_step(
    fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path, workers: list[Worker]
) -> None:
    fake_llm.responder = chat_only
    async with running_app(fake_llm, postgres_url, tmp_path / "data", queue_url=postgres_url) as (
        app,
        channel,
    ):
        for worker in workers:
            await worker.start()
        await app.sessions.handle(channel.inbound("/task count to eight"))
        await poll(lambda: any(SLOW_STEP in w.steps() for w in workers), within=45)
        holder = next(w for w in workers if SLOW_STEP in w.steps())
        other = next(w for w in workers if w is not holder)
        await holder.kill()  # in the middle of the slow step's model call

        await poll(lambda: any("Task #1 is done" in t for t in channel.texts()), within=50)
        await asyncio.sleep(2.5)  # a second result would be delivered meanwhile

        results = [t for t in channel.texts() if "Task #1 is done" in t]
        assert len(results) == 1
        assert f"counted to {LAST_STEP}" in results[0]
        # The killed step ran again on the other worker, and every step counted once.
        assert SLOW_STEP in other.steps()
        assert sorted({*holder.steps(), *other.steps()}) == list(range(1, LAST_STEP + 1))
        status, step, events = await task_row(postgres_url)
        assert (status, step) == ("succeeded", LAST_STEP)
        assert events == list(range(1, LAST_STEP + 1))
        # The chat process ran none: its model server saw no task step.
        assert not any(is_task_step(r) for r in fake_llm.requests)
    assert await other.stop() == 0  # SIGTERM: a clean stop
