"""The queue of task steps for `clawling worker` processes: procrastinate on PostgreSQL
(issue 20; why procrastinate: docs/design.md, "Queue candidates, measured").

What it promises, and what it leaves to the step (bot/background/runner.py):

- A job says "task T is at step N: run its next step". All jobs of a task carry the lock
  `task:T`, so procrastinate runs them one at a time, in the order they were queued,
  whichever worker takes them.
- At most one job of a task waits at a time (the same string as its queueing lock):
  handing a task over again while one waits is a no-op, so the leader may hand over
  whatever it finds running without counting.
- A job is at least once. A worker beats every HEARTBEAT_SECONDS; one silent for
  STALLED_AFTER seconds (killed, frozen, cut off) is stalled, and every worker looks for
  stalled jobs every RESCUE_EVERY seconds and puts them back, so another worker runs a
  killed worker's step within about half a minute. The step makes a repeat harmless: it
  acts only if the task is still at step N, and its checkpoint is written only if it
  still is (memory/tasks.py).

`clawling run` without CLAWLING_QUEUE_URL never builds one of these: its leader runs the
steps itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import procrastinate
import psycopg
from procrastinate.exceptions import AlreadyEnqueued, ProcrastinateException
from procrastinate.jobs import Status

log = logging.getLogger(__name__)

STEP_TASK = "clawling.task_step"
QUEUE = "task_steps"
HEARTBEAT_SECONDS = 5.0
STALLED_AFTER = 15.0
RESCUE_EVERY = 5.0
# How often a worker looks for jobs besides being told. A new job wakes the workers at
# once (LISTEN/NOTIFY), but a task's next step is queued while its job still holds the
# task's lock, so it becomes runnable only when that job ends, which nothing announces:
# this poll is what starts it (a fetch is one cheap query, a few a second per worker).
POLL_SECONDS = 0.5

# How long a call waits for a connection (an unreachable queue fails after this).
CONNECT_SECONDS = 10.0

StepHandler = Callable[[int, int], Awaitable[None]]


class QueueUnavailable(ConnectionError):
    """The queue's PostgreSQL does not answer; the message is the driver's reason."""


def conninfo(url: str) -> str:
    """The URL as psycopg reads it: the database URL's driver (`+asyncpg`) dropped."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def lock_of(task_id: int) -> str:
    return f"task:{task_id}"


class StepQueue:
    """Hands task steps to workers (`hand_over`) and runs them in one (`work`)."""

    def __init__(self, url: str, *, connections: int = 4) -> None:
        self.url = url
        self._connections = connections
        self._app = self._make_app(connections)
        self._handler: StepHandler | None = None
        self._open = False

    def _make_app(self, connections: int) -> procrastinate.App:
        connector = procrastinate.PsycopgConnector(
            conninfo=conninfo(self.url), min_size=1, max_size=connections, timeout=CONNECT_SECONDS
        )
        app = procrastinate.App(connector=connector)

        @app.task(name=STEP_TASK, queue=QUEUE)
        async def task_step(task_id: int, step: int) -> None:
            if self._handler is None:
                raise RuntimeError("a task step reached a process that runs no steps")
            await self._handler(task_id, step)

        self._task = task_step
        return app

    async def open(self) -> None:
        """Connect (`QueueUnavailable` at once when the server does not answer, rather
        than a pool retrying for half a minute); a queue on another database than ours
        gets procrastinate's schema."""
        if self._open:
            return
        problem = await self.problem(tables=False)
        if problem is not None:
            raise QueueUnavailable(problem)
        try:
            await self._app.open_async()
        except BaseException:
            with contextlib.suppress(Exception):
                await self._app.close_async()  # a pool that failed to fill: start afresh
            raise
        self._open = True
        if not await self._app.job_manager.check_connection_async():
            log.info("installing the queue's schema in %s", conninfo(self.url).split("@")[-1])
            await self._app.schema_manager.apply_schema_async()

    async def close(self) -> None:
        if self._open:
            self._open = False
            await self._app.close_async()

    async def hand_over(self, task_id: int, step: int) -> bool:
        """Queue task `task_id`'s next step (it is at `step`); False when one waits already."""
        await self.open()
        key = lock_of(task_id)
        try:
            await self._task.configure(lock=key, queueing_lock=key).defer_async(
                task_id=task_id, step=step
            )
        except AlreadyEnqueued:
            return False
        return True

    async def tasks_with_jobs(self) -> set[int]:
        """Tasks with a step waiting or running: the others may need handing over."""
        await self.open()
        rows = await self._app.connector.execute_query_all_async(
            "SELECT DISTINCT lock FROM procrastinate_jobs "
            "WHERE queue_name = %(queue)s AND status IN ('todo', 'doing')",
            queue=QUEUE,
        )
        return {int(row["lock"].removeprefix("task:")) for row in rows if row["lock"]}

    async def depth(self) -> dict[str, int]:
        """Jobs by status (todo: waiting for a worker; doing: running)."""
        await self.open()
        rows = await self._app.connector.execute_query_all_async(
            "SELECT status::text AS status, count(*) AS n FROM procrastinate_jobs "
            "WHERE queue_name = %(queue)s AND status IN ('todo', 'doing') GROUP BY status",
            queue=QUEUE,
        )
        counts = {"todo": 0, "doing": 0}
        counts.update({row["status"]: int(row["n"]) for row in rows})
        return counts

    async def problem(self, *, tables: bool = True) -> str | None:
        """Why the queue cannot be used, or None (`clawling doctor`, /readyz, a worker's
        start). Its own short connection: a pool would retry for half a minute.
        `tables=False`: reachable is enough (`open` installs missing tables)."""
        try:
            connection = await psycopg.AsyncConnection.connect(
                conninfo(self.url), connect_timeout=int(CONNECT_SECONDS), autocommit=True
            )
        except psycopg.Error as exc:
            # The driver's first line says it all (the second is a hint about servers).
            return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        async with connection:
            found = await connection.execute("SELECT to_regclass('procrastinate_jobs')")
            row = await found.fetchone()
        if tables and (row is None or row[0] is None):
            return "the queue's tables are missing"
        return None

    async def work(self, handler: StepHandler, *, concurrency: int, name: str) -> None:
        """Run steps with `handler` until cancelled; each step in flight finishes first."""
        self._handler = handler
        # The jobs at once, the listener, the heartbeat, the rescuer and a spare.
        if concurrency + 4 > self._connections:
            await self.close()
            self._connections = concurrency + 4
            self._app = self._make_app(self._connections)
        await self.open()
        rescuer = asyncio.create_task(self._rescue_stalled())
        try:
            await self._app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                name=name,
                update_heartbeat_interval=HEARTBEAT_SECONDS,
                stalled_worker_timeout=STALLED_AFTER,
                fetch_job_polling_interval=POLL_SECONDS,
                install_signal_handlers=False,
                delete_jobs="successful",
            )
        finally:
            rescuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rescuer

    async def _rescue_stalled(self) -> None:
        manager = self._app.job_manager
        while True:
            await asyncio.sleep(RESCUE_EVERY)
            try:
                stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER)
                for job in stalled:
                    await self._put_back(job)
            except ProcrastinateException:
                log.exception("looking for stalled steps failed; trying again")

    async def _put_back(self, job: procrastinate.jobs.Job) -> None:
        manager = self._app.job_manager
        log.warning("step job %s of a silent worker goes back to the queue", job.id)
        try:
            await manager.retry_job(job)
        except ProcrastinateException:
            # Another worker's rescuer put it back first (it is no longer running), or
            # the dead job had queued its task's next step already, which waits under
            # the same queueing lock: then it is superseded, and ends so its lock frees.
            if job.id is None:
                return
            now = list(await manager.list_jobs_async(id=job.id))
            if now and now[0].status == Status.DOING.value:
                await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
