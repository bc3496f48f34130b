"""Which distributed task queue should carry background steps across `clawling worker`
processes (issue 20)? Three maintained, asyncio-capable candidates, measured side by side
on this machine with the same job and the same checks:

- procrastinate on the PostgreSQL already there (jobs are rows; per-key `lock`),
- Dramatiq over RabbitMQ (late acknowledgement; async actors through its AsyncIO
  middleware),
- taskiq over Redis streams (acknowledged when the job has run; unacknowledged messages
  reclaimed after `idle_timeout`).

Each job stands for one task step: it records its start in a results table, waits
`--step` seconds (the model call it would make), and records its end. The figures:

1. steps per second with 1, 2 and 4 worker processes (`--jobs` steps over `--keys`
   tasks, 10 steps at once per worker);
2. per-task order: steps of one task that started before the previous one ended, or
   out of order (a task's steps must run one after another);
3. recovery: a worker killed with SIGKILL in the middle of a long step — seconds until
   another worker starts that step again (the issue asks for under a minute).

Not a dependency of the project. Run it in its own environment:

    python3 -m venv /tmp/queues
    /tmp/queues/bin/pip install procrastinate 'dramatiq[rabbitmq]' taskiq taskiq-redis \
        'psycopg[binary]' psycopg-pool
    /tmp/queues/bin/python -m bench.queue_choice            # all three
    /tmp/queues/bin/python -m bench.queue_choice procrastinate --workers 1 2

It needs PostgreSQL (postgresql://postgres@127.0.0.1/postgres: a scratch database is
made), RabbitMQ (guest@127.0.0.1:5672) and Redis (127.0.0.1:6379) running locally.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psycopg

ADMIN_URL = os.environ.get("QUEUE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBIT_URL = os.environ.get("QUEUE_BENCH_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("QUEUE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
CONCURRENCY = 10  # steps at once per worker process
CANDIDATES = ("procrastinate", "dramatiq", "taskiq")

RESULTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS steps (
    id bigserial PRIMARY KEY, key text, seq int, pid int,
    started timestamptz DEFAULT clock_timestamp(), finished timestamptz
)"""


# -- the job, the same for every candidate ------------------------------------------


class Recorder:
    """Writes a step's start and end to the results database (one pool per process)."""

    def __init__(self, url: str) -> None:
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(url, min_size=2, max_size=CONCURRENCY + 2, open=False)

    async def step(self, key: str, seq: int, seconds: float) -> None:
        if self.pool.closed:
            await self.pool.open()
        async with self.pool.connection() as connection:
            row = await connection.execute(
                "INSERT INTO steps (key, seq, pid) VALUES (%s, %s, %s) RETURNING id",
                (key, seq, os.getpid()),
            )
            (step_id,) = await row.fetchone() or (0,)
        await asyncio.sleep(seconds)
        async with self.pool.connection() as connection:
            await connection.execute(
                "UPDATE steps SET finished = clock_timestamp() WHERE id = %s", (step_id,)
            )


# -- candidates ----------------------------------------------------------------------


@dataclass
class Candidate:
    name: str
    # (jobs as (key, seq, seconds)) → put them on the queue, in order per key
    enqueue: Callable[[list[tuple[str, int, float]]], Awaitable[None]]
    # run a worker in this process until killed
    work: Callable[[], Awaitable[None]]
    reset: Callable[[], Awaitable[None]]


def procrastinate_candidate(results_url: str, queue_url: str) -> Candidate:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=queue_url))
    recorder = Recorder(results_url)

    @app.task(name="step", queue="steps")
    async def step(key: str, seq: int, seconds: float) -> None:
        await recorder.step(key, seq, seconds)

    async def enqueue(jobs: list[tuple[str, int, float]]) -> None:
        async with app.open_async():
            # Steps of one task share a lock: procrastinate runs them one at a time, in
            # the order they were queued.
            for key, seq, seconds in jobs:
                await step.configure(lock=key).defer_async(key=key, seq=seq, seconds=seconds)

    async def rescue_stalled() -> None:
        # A killed worker stops its heartbeat; after stalled_worker_timeout its jobs
        # are stalled and go back to the queue (what `clawling worker` would run).
        while True:
            await asyncio.sleep(2)
            for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=15):
                await app.job_manager.retry_job(job)

    async def work() -> None:
        async with app.open_async():
            rescuer = asyncio.create_task(rescue_stalled())
            try:
                await app.run_worker_async(
                    queues=["steps"],
                    concurrency=CONCURRENCY,
                    update_heartbeat_interval=5,
                    stalled_worker_timeout=15,
                    install_signal_handlers=True,
                )
            finally:
                rescuer.cancel()

    async def reset() -> None:
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    return Candidate("procrastinate", enqueue, work, reset)


def dramatiq_candidate(results_url: str) -> Candidate:
    import dramatiq
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.middleware.asyncio import AsyncIO

    broker = RabbitmqBroker(url=RABBIT_URL)
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)
    recorder = Recorder(results_url)

    @dramatiq.actor(queue_name="clawling_bench_steps", max_retries=3)
    async def step(key: str, seq: int, seconds: float) -> None:
        await recorder.step(key, seq, seconds)

    async def enqueue(jobs: list[tuple[str, int, float]]) -> None:
        for key, seq, seconds in jobs:
            step.send(key, seq, seconds)  # published before send() returns

    async def work() -> None:
        worker = dramatiq.Worker(broker, worker_threads=CONCURRENCY)
        worker.start()
        await asyncio.Event().wait()

    async def reset() -> None:
        broker.declare_queue("clawling_bench_steps")
        broker.flush("clawling_bench_steps")

    return Candidate("dramatiq", enqueue, work, reset)


def taskiq_candidate(results_url: str) -> Candidate:
    from taskiq.acks import AcknowledgeType
    from taskiq.api import run_receiver_task
    from taskiq_redis import RedisStreamBroker

    # Unacknowledged messages of a dead consumer are reclaimed after idle_timeout; its
    # default is 10 minutes, set to 20 s here (a step must then never run longer).
    broker = RedisStreamBroker(REDIS_URL, queue_name="clawling_bench_steps", idle_timeout=20_000)
    recorder = Recorder(results_url)

    @broker.task(task_name="step")
    async def step(key: str, seq: int, seconds: float) -> None:
        await recorder.step(key, seq, seconds)

    async def enqueue(jobs: list[tuple[str, int, float]]) -> None:
        await broker.startup()
        for key, seq, seconds in jobs:
            await step.kiq(key, seq, seconds)
        await broker.shutdown()

    async def work() -> None:
        await broker.startup()
        await run_receiver_task(
            broker,
            max_async_tasks=CONCURRENCY,
            ack_time=AcknowledgeType.WHEN_EXECUTED,
        )

    async def reset() -> None:
        import redis.asyncio as redis

        client = redis.from_url(REDIS_URL)
        await client.delete("clawling_bench_steps")
        await client.aclose()

    return Candidate("taskiq", enqueue, work, reset)


def candidate(name: str, results_url: str) -> Candidate:
    if name == "procrastinate":
        return procrastinate_candidate(results_url, results_url)
    if name == "dramatiq":
        return dramatiq_candidate(results_url)
    return taskiq_candidate(results_url)


# -- the runs ------------------------------------------------------------------------


def scratch_database() -> str:
    name = f"queue_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(RESULTS_SCHEMA)
    return url


def drop_database(url: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def start_workers(name: str, url: str, count: int) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "bench.queue_choice", "--worker", name, "--results", url]
    return [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.kill()
        worker.wait()


def rows(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(query, args).fetchall()  # type: ignore[arg-type]


def wait_for(url: str, query: str, done: Callable[[Any], bool], limit: float) -> float | None:
    """Seconds until `query`'s one value satisfies `done`; None after `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if done(rows(url, query)[0][0]):
            return time.monotonic() - start
        time.sleep(0.05)
    return None


async def throughput(name: str, workers: int, jobs: int, keys: int, step: float) -> str:
    url = scratch_database()
    try:
        queue = candidate(name, url)
        await queue.reset()
        plan = [(f"task{k}", seq, step) for seq in range(jobs // keys) for k in range(keys)]
        await queue.enqueue(plan)
        started = start_workers(name, url, workers)
        finished = wait_for(
            url,
            "SELECT count(*) FROM steps WHERE finished IS NOT NULL",
            lambda n: n >= len(plan),
            300,
        )
        stop(started)
        span = rows(url, "SELECT extract(epoch FROM max(finished) - min(started)) FROM steps")[0][0]
        disorder = rows(
            url,
            """SELECT count(*) FROM (
                 SELECT seq, started, lag(seq) OVER w AS before_seq,
                        lag(finished) OVER w AS before_end
                 FROM steps WINDOW w AS (PARTITION BY key ORDER BY started)) s
               WHERE seq < before_seq OR started < before_end""",
        )[0][0]
        runs = rows(url, "SELECT count(*), count(DISTINCT (key, seq)) FROM steps")[0]
        if finished is None:
            return f"{name:14} {workers} workers: did not finish ({runs[1]} of {len(plan)} steps)"
        return (
            f"{name:14} {workers} worker{'s' if workers > 1 else ' '}: "
            f"{len(plan) / float(span):7.1f} steps/s, {runs[0] - runs[1]} run twice, "
            f"{disorder} of {len(plan)} out of order within their task"
        )
    finally:
        drop_database(url)


async def recovery(name: str) -> str:
    url = scratch_database()
    try:
        queue = candidate(name, url)
        await queue.reset()
        await queue.enqueue([("long", 0, 30.0)])
        first = start_workers(name, url, 1)
        if wait_for(url, "SELECT count(*) FROM steps", lambda n: n >= 1, 60) is None:
            stop(first)
            return f"{name:14} recovery: the step never started"
        first[0].send_signal(signal.SIGKILL)
        first[0].wait()
        killed_at = time.monotonic()
        second = start_workers(name, url, 1)
        again = wait_for(url, "SELECT count(*) FROM steps", lambda n: n >= 2, 180)
        stop(second)
        if again is None:
            return f"{name:14} recovery: not picked up again within 180 s of the kill"
        return f"{name:14} recovery: picked up again {time.monotonic() - killed_at:5.1f} s after SIGKILL"
    finally:
        drop_database(url)


async def run_worker(name: str, results: str) -> None:
    await candidate(name, results).work()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="*", default=list(CANDIDATES))
    parser.add_argument("--workers", nargs="*", type=int, default=[1, 2, 4])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--keys", type=int, default=100)
    parser.add_argument("--step", type=float, default=0.01, help="seconds a step waits")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(run_worker(args.worker, args.results))
        return 0
    print(
        f"{args.jobs} steps of {args.step * 1000:.0f} ms over {args.keys} tasks, "
        f"{CONCURRENCY} at once per worker process; {os.cpu_count()} cores"
    )
    for name in args.candidates:
        for workers in args.workers:
            print(
                asyncio.run(throughput(name, workers, args.jobs, args.keys, args.step)), flush=True
            )
        print(asyncio.run(recovery(name)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
