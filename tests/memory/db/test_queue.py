"""The task-step queue on PostgreSQL (memory/db/queue.py): one waiting step per task,
what the leader's sweep reads, and a worker in this process running what was queued."""

from __future__ import annotations

import asyncio
import contextlib

from memory import db
from memory.db.queue import StepQueue, conninfo


async def migrated(url: str) -> None:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


def test_the_database_url_reads_as_a_queue_url() -> None:
    assert conninfo("postgresql+asyncpg://app:pw@db:5433/app") == "postgresql://app:pw@db:5433/app"
    assert conninfo("postgres://app@db/app") == "postgres://app@db/app"


async def test_a_task_has_at_most_one_step_waiting(postgres_url: str) -> None:
    await migrated(postgres_url)  # the migration installs the queue's schema
    queue = StepQueue(postgres_url)
    try:
        assert await queue.problem() is None
        assert await queue.hand_over(7, 0)
        assert not await queue.hand_over(7, 0)  # the leader handing it over again
        assert not await queue.hand_over(7, 3)
        assert await queue.hand_over(8, 2)
        assert await queue.tasks_with_jobs() == {7, 8}
        assert await queue.depth() == {"todo": 2, "doing": 0}
    finally:
        await queue.close()


async def test_a_worker_runs_the_queued_steps_one_task_at_a_time(postgres_url: str) -> None:
    await migrated(postgres_url)
    queue = StepQueue(postgres_url)
    ran: list[tuple[int, int]] = []
    running: set[int] = set()
    overlapped: list[int] = []

    async def step(task_id: int, number: int) -> None:
        if task_id in running:
            overlapped.append(task_id)
        running.add(task_id)
        await asyncio.sleep(0.05)
        ran.append((task_id, number))
        running.discard(task_id)
        if number < 3:  # as the runner does: the job queues its task's next step
            await queue.hand_over(task_id, number + 1)

    worker = asyncio.create_task(queue.work(step, concurrency=4, name="test"))
    try:
        for task_id in (1, 2):
            await queue.hand_over(task_id, 0)
        for _ in range(300):
            if len(ran) == 8:
                break
            await asyncio.sleep(0.05)
        assert [n for t, n in ran if t == 1] == [0, 1, 2, 3]
        assert [n for t, n in ran if t == 2] == [0, 1, 2, 3]
        assert overlapped == []
        # The last job ends just after its step returns: give it that moment.
        for _ in range(100):
            if not await queue.tasks_with_jobs():
                break
            await asyncio.sleep(0.05)
        assert await queue.tasks_with_jobs() == set()
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await queue.close()


async def test_an_unreachable_queue_is_one_line(postgres_url: str) -> None:
    queue = StepQueue("postgresql://nobody@127.0.0.1:9/nowhere")
    try:
        problem = await queue.problem()
    finally:
        await queue.close()
    assert problem is not None and "\n" not in problem
