"""A queued step (bot/background/runner.py: `run_step`) delivered again after its task
moved on: it does nothing but make sure the task's actual next step is queued."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.bot.harness.background import is_task_step, poll, running_app
from tests.fakes.openai_server import FakeOpenAI, Reply, echo


async def test_a_step_delivered_again_is_harmless(
    fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = lambda r: (
        Reply(tool_calls=[("save_note", {"note": "step"})]) if is_task_step(r) else echo(r)
    )
    async with running_app(fake_llm, postgres_url, tmp_path / "data", queue_url=postgres_url) as (
        app,
        channel,
    ):
        queue, runner = app.background.queue, app.background.runner
        assert queue is not None
        await app.sessions.handle(channel.inbound("/task count"))
        # The leader hands the first step to the queue (no worker runs in this test).
        await poll(lambda: queue.tasks_with_jobs())
        [task] = await app.background.store.find(limit=1)
        await runner.run_step(task.id, 0)  # the step a worker would run: task at step 1
        async with app.engine.connect() as connection:
            assert (await connection.execute(text("SELECT step FROM tasks"))).scalar() == 1
        steps = sum(is_task_step(r) for r in fake_llm.requests)
        assert steps == 1

        await runner.run_step(task.id, 0)  # the same job again: the task is past step 0
        async with app.engine.connect() as connection:
            assert (await connection.execute(text("SELECT step FROM tasks"))).scalar() == 1
            events = await connection.execute(
                text("SELECT count(*) FROM task_events WHERE kind = 'step'")
            )
            assert events.scalar() == 1
        assert sum(is_task_step(r) for r in fake_llm.requests) == steps  # no model call
        # One job waits for the task: the first hand-over's, as a queueing lock keeps it.
        assert await queue.depth() == {"todo": 1, "doing": 0}
        assert await queue.tasks_with_jobs() == {task.id}
