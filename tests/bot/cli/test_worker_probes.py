"""A real `clawling worker` serving /healthz, /readyz and /metrics: its steps timed, its
readiness lost with the database or with the queue (here on a database of its own, so
each can be cut off alone) and regained with it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import pytest

from tests.bot.harness.background import is_task_step, poll, running_app, step_of
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_database
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

ROOT = str(Path(__file__).resolve().parents[3])
STEPS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def counting(request: dict[str, Any]) -> Reply:
    if not is_task_step(request):
        return echo(request)
    step = step_of(request)
    if step >= STEPS:
        return Reply(tool_calls=[("finish", {"result": f"counted to {step}"})])
    return Reply(tool_calls=[("save_note", {"note": f"step {step}"})], delay=0.3)


def chat_only(request: dict[str, Any]) -> Reply:
    if is_task_step(request):
        raise AssertionError("a task step ran in the chat process")
    return echo(request)


def allow_connections(url: str, allowed: bool, *, cut: bool = False) -> None:
    """Let the database named by `url` take new connections or not; `cut`: end its
    open ones too (a database that went away, not one that merely stopped accepting)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if cut:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )


@pytest.fixture
def queue_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
async def worker(
    postgres_url: str, queue_url: str, tmp_path: Path
) -> AsyncIterator[tuple[int, asyncio.subprocess.Process, FakeOpenAI]]:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    with FakeOpenAI(counting) as model:
        env = {
            **{k: v for k, v in base.items() if not k.startswith(("TELEGRAM_", "SLACK_"))},
            "PYTHONPATH": ROOT,
            "OPENAI_API_KEY": "test-key",
            "OPENAI_BASE_URL": model.url,
            "CLAWLING_MODEL": "fake-model",
            "CLAWLING_LLM_MAX_RETRIES": "0",
            "CLAWLING_DATABASE_URL": postgres_url,
            "CLAWLING_QUEUE_URL": queue_url,
            "CLAWLING_DATA_DIR": str(tmp_path / "worker-data"),
            "CLAWLING_HTTP_PORT": str(port),
            "CLAWLING_LOG_LEVEL": "WARNING",
            # Set as for the replicas; a worker connects no chat app and awaits none.
            "TELEGRAM_BOT_TOKEN": "123456789:AAH-worker-token-for-the-probe-test_abcdefghij",
            "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
        }
        with (tmp_path / "worker.log").open("w") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "worker", env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
            try:
                yield port, process, model
            finally:
                for database in (postgres_url, queue_url):
                    allow_connections(database, True)
                if process.returncode is None:
                    process.send_signal(signal.SIGKILL)
                    await process.wait()


async def get(port: int, path: str) -> tuple[int, str]:
    """The status and body at `path`; (0, reason) while nothing listens."""
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
                return answer.status, await answer.text()
    except aiohttp.ClientError as exc:
        return 0, str(exc)


def sample(metrics: str, line_start: str) -> float:
    match = re.search(rf"^{re.escape(line_start)} (\S+)$", metrics, re.M)
    if match is None:
        raise AssertionError(f"{line_start} is not in /metrics:\n{metrics}")
    return float(match.group(1))


async def test_a_worker_serves_probes_and_metrics(
    fake_llm: FakeOpenAI,
    postgres_url: str,
    queue_url: str,
    tmp_path: Path,
    worker: tuple[int, asyncio.subprocess.Process, FakeOpenAI],
) -> None:
    port, process, model = worker
    fake_llm.responder = chat_only
    # The chat side (the leader) migrates the database and hands the steps over.
    async with running_app(fake_llm, postgres_url, tmp_path / "data", queue_url=queue_url) as (
        app,
        channel,
    ):
        await poll(lambda: _status_is(port, "/healthz", 200), within=45)
        await poll(lambda: _status_is(port, "/readyz", 200), within=30)
        await app.sessions.handle(channel.inbound("/task count to three"))
        await poll(lambda: any("Task #1 is done" in t for t in channel.texts()), within=45)

    assert sorted(step_of(r) for r in model.requests if is_task_step(r)) == [1, 2, 3]
    status, metrics = await get(port, "/metrics")
    assert status == 200
    # Each step the worker ran is timed; the fake model took 0.3 s over the first two.
    assert sample(metrics, "clawling_task_step_seconds_count") == STEPS
    assert sample(metrics, "clawling_task_step_seconds_sum") >= 0.6
    assert sample(metrics, 'clawling_task_step_seconds_bucket{le="0.5"}') >= 1
    assert sample(metrics, 'clawling_queue_steps{status="todo"}') == 0
    assert sample(metrics, 'clawling_queue_steps{status="doing"}') == 0
    # A worker leads nothing.
    assert sample(metrics, 'clawling_leader{role="background"}') == 0
    assert sample(metrics, 'clawling_leader{role="receivers"}') == 0

    # The database gone: not ready, with the reason only.
    allow_connections(postgres_url, False, cut=True)
    status, body = await poll(lambda: _status_is(port, "/readyz", 503), within=15)
    assert "database unreachable" in body and "127.0.0.1" not in body
    allow_connections(postgres_url, True)
    await poll(lambda: _status_is(port, "/readyz", 200), within=15)

    # The queue refusing connections (the worker's own stay open): not ready either.
    allow_connections(queue_url, False)
    status, body = await poll(lambda: _status_is(port, "/readyz", 503), within=15)
    assert "task queue unreachable" in body and "database" not in body
    allow_connections(queue_url, True)
    await poll(lambda: _status_is(port, "/readyz", 200), within=15)

    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 30) == 0


async def _status_is(port: int, path: str, wanted: int) -> tuple[int, str] | None:
    status, body = await get(port, path)
    return (status, body) if status == wanted else None
