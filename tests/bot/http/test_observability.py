"""/healthz, /readyz and /metrics on the app's HTTP server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.app import build_app
from bot.http.observability import Gauge
from bot.settings import Settings
from memory import db
from tests.bot.app.test_lifecycle import Disconnected, get, started
from tests.bot.harness.background import is_task_step, poll, step_of
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply, echo


async def test_health_and_readiness(settings: Settings) -> None:
    app, _channel = await started(settings)
    try:
        assert await get(app, "/healthz") == (200, '{"status": "ok"}')
        status, body = await get(app, "/readyz")
        assert (status, json.loads(body)) == (200, {"ready": True, "problems": []})
    finally:
        await app.close()


async def test_not_ready_when_a_channel_is_down_or_the_schema_is_old(
    settings: Settings,
) -> None:
    app = build_app(settings)
    await app.prepare_database()
    app.add_channel(Disconnected("flaky"))
    await app.start()
    async with app.engine.begin() as connection:  # as if an older release were deployed
        await connection.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    try:
        status, body = await get(app, "/readyz")
        assert status == 503
        problems = json.loads(body)["problems"]
        assert problems == [
            f"database schema at 0000, expected {db.head_revision()}",
            "flaky is not connected",
        ]
    finally:
        await app.close()


async def test_metrics_count_turns_tokens_and_queue(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    app, channel = await started(settings)
    try:
        fake_llm.add(Reply(status=500))
        await app.sessions.handle(channel.inbound("fails"))
        await app.sessions.drain()
        await app.sessions.handle(channel.inbound("works"))
        await app.sessions.drain()

        async def tasks() -> list[Gauge]:
            return [Gauge("clawling_tasks", "Tasks by status", {"status": "running"}, 3)]

        app.observability.gauge_sources.append(tasks)
        status, text = await get(app, "/metrics")
    finally:
        await app.close()
    assert status == 200
    lines = set(text.splitlines())
    assert 'clawling_turns_total{outcome="answered"} 1.0' in lines
    assert 'clawling_turns_total{outcome="failed"} 1.0' in lines
    assert 'clawling_llm_calls_total{result="error"} 1.0' in lines
    assert 'clawling_llm_calls_total{result="ok"} 1.0' in lines
    assert "clawling_queued_turns 0.0" in lines
    assert 'clawling_tasks{status="running"} 3.0' in lines
    prompt = next(
        line for line in lines if line.startswith('clawling_llm_tokens_total{kind="prompt"}')
    )
    assert float(prompt.split()[-1]) > 0


async def test_an_unreachable_database_is_reported_without_its_url(
    fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    # /readyz may be reachable from outside (behind the webhook proxy).
    url = "postgresql+asyncpg://clawling:pw-hunter2@127.0.0.1:1/clawling"
    app = build_app(make_settings(fake_llm, url, tmp_path))
    try:
        [problem] = await app.observability.problems()
    finally:
        await app.close()
    assert problem.startswith("database unreachable: ")
    assert "clawling" not in problem and "hunter2" not in problem


async def test_not_ready_when_the_task_queue_does_not_answer(
    fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> None:
    settings = make_settings(fake_llm, postgres_url, tmp_path, queue_url=postgres_url)
    app, _channel = await started(settings)
    try:
        status, body = await get(app, "/readyz")
        assert (status, json.loads(body)) == (200, {"ready": True, "problems": []})
        _status, metrics = await get(app, "/metrics")
        assert 'clawling_queue_steps{status="todo"} 0.0' in metrics
    finally:
        await app.close()
    gone = "postgresql://nobody:pw-hunter2@127.0.0.1:9/queue"
    settings = make_settings(fake_llm, postgres_url, tmp_path, queue_url=gone)
    app, _channel = await started(settings)  # the chat goes on; the leader retries the queue
    try:
        status, body = await get(app, "/readyz")
        # The reason only: /readyz may be public, and the driver's words name the host.
        assert (status, json.loads(body)["problems"]) == (503, ["task queue unreachable"])
    finally:
        await app.close()


async def test_task_steps_run_by_the_leader_are_timed(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    """Without a queue the leader runs the steps, and its /metrics times them."""

    def two_steps(request: dict[str, Any]) -> Reply:
        if not is_task_step(request):
            return echo(request)
        if step_of(request) >= 2:
            return Reply(tool_calls=[("finish", {"result": "done twice"})])
        return Reply(tool_calls=[("save_note", {"note": "once"})], delay=0.2)

    fake_llm.responder = two_steps
    app, channel = await started(settings)
    try:
        status, text = await get(app, "/metrics")
        assert "clawling_task_step_seconds_count 0.0" in text.splitlines()
        await app.sessions.handle(channel.inbound("/task take two steps"))
        await poll(lambda: any("Task #1 is done" in t for t in channel.texts()))
        status, text = await get(app, "/metrics")
    finally:
        await app.close()
    lines = text.splitlines()
    assert "clawling_task_step_seconds_count 2.0" in lines
    assert 'clawling_task_step_seconds_bucket{le="0.5"} 2.0' in lines
    total = next(line for line in lines if line.startswith("clawling_task_step_seconds_sum"))
    assert float(total.split()[-1]) >= 0.2
