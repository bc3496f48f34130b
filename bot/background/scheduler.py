"""The background leader: APScheduler for jobs, the task runner for tasks.

`Background` is the `Service` that `clawling run` and `clawling chat` start. It
competes for leadership (memory/db/leader.py); the one leader per database runs an
APScheduler 3 `AsyncIOScheduler` whose `SQLAlchemyJobStore` lives in the same
database, plus the TaskRunner. The others retry every LEADER_RETRY seconds, so a
standby takes over when the leader stops.

APScheduler's job store is synchronous. Called from the app's event loop it
could wait on a SQLite lock held by one of our own half-done async
transactions, which can only finish on that same blocked loop. So the scheduler
runs on its own event loop in its own thread, and the app's loop reaches the job
store only through `asyncio.to_thread`. A firing job hands its id back to the
app's loop (`fire_job`) and returns at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from datetime import UTC
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import Engine

from bot.background.jobs import Jobs
from bot.background.runner import TaskRunner
from bot.background.when import trigger_for
from memory.db.leader import Leadership
from memory.jobs import JobRecord

log = logging.getLogger(__name__)

LEADER_RETRY = 10.0
SYNC_EVERY = 10.0
JOB_PREFIX = "job-"

_timer: JobTimer | None = None


async def fire_job(job_id: int) -> None:
    """APScheduler's job function ("bot.background.scheduler:fire_job"): hands the id to the app."""
    timer = _timer
    if timer is None:
        log.warning("job %s fired with no timer running; it will be synced again", job_id)
        return
    timer.hand_over(job_id)


class JobTimer:
    """APScheduler on its own thread and loop; add/remove/sync from the app's loop."""

    def __init__(self, jobs: Jobs, engine: Engine, *, grace_seconds: int) -> None:
        self._jobs = jobs
        self._engine = engine
        self._grace = grace_seconds
        self._app_loop: asyncio.AbstractEventLoop | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run_loop, name="clawling-scheduler", daemon=True
        )
        self._scheduler: AsyncIOScheduler | None = None
        self._timed: set[int] = set()
        self._pending: set[asyncio.Task[None]] = set()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    async def start(self) -> None:
        global _timer
        if _timer is not None:
            raise RuntimeError("a job timer is already running in this process")
        self._app_loop = asyncio.get_running_loop()
        self._thread.start()
        self._scheduler = AsyncIOScheduler(
            event_loop=self._loop,
            timezone=UTC,
            jobstores={"default": SQLAlchemyJobStore(engine=self._engine)},
            job_defaults={"misfire_grace_time": self._grace, "coalesce": True, "max_instances": 1},
        )
        self._scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        _timer = self
        try:
            # Paused until the stored jobs carry the current grace window and the job
            # table is synced, so overdue jobs are judged by today's settings.
            await asyncio.to_thread(self._scheduler.start, paused=True)
            await asyncio.to_thread(self._apply_grace)
            self._timed = await asyncio.to_thread(self._timed_ids)
            await self.sync()
            self._scheduler.resume()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        global _timer
        if _timer is self:
            _timer = None
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._thread.is_alive():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_drain(), self._loop))
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 10)
        self._loop.close()
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)

    async def add(self, job: JobRecord) -> None:
        if self._scheduler is None:
            return
        self._timed.add(job.id)
        # The expected fire time we stored, so runs missed while nobody led still fire
        # (late, within the grace window) or are reported as missed.
        start: dict[str, Any] = {"next_run_time": job.next_run_at} if job.next_run_at else {}
        await asyncio.to_thread(
            self._scheduler.add_job,
            "bot.background.scheduler:fire_job",
            trigger=trigger_for(job.schedule),
            args=[job.id],
            id=f"{JOB_PREFIX}{job.id}",
            name=f"{job.kind} {job.id}",
            replace_existing=True,
            **start,
        )

    async def remove(self, job_id: int) -> None:
        self._timed.discard(job_id)
        if self._scheduler is None:
            return
        with contextlib.suppress(LookupError):
            await asyncio.to_thread(self._scheduler.remove_job, f"{JOB_PREFIX}{job_id}")

    async def sync(self) -> None:
        """Time jobs created by other processes (or while nobody led); drop cancelled ones.

        A job this timer added and APScheduler since removed has fired: it is left
        to its firing, never re-added here.
        """
        wanted = await self._jobs.store.active_ids()
        present = await asyncio.to_thread(self._timed_ids)
        for job_id in sorted(wanted - self._timed - present):
            job = await self._jobs.store.get(job_id)
            if job is not None:
                log.info("timing job %s created elsewhere", job_id)
                await self.add(job)
        for job_id in present - wanted:
            await self.remove(job_id)
        self._timed |= present
        if self._scheduler is not None and self._scheduler.running:
            # A job store error inside APScheduler's wakeup leaves no timer set;
            # waking it here bounds such a stall to one sync period.
            self._scheduler.wakeup()

    def hand_over(self, job_id: int) -> None:
        """Called on the scheduler's loop: run the firing on the app's loop."""
        if self._app_loop is not None and not self._app_loop.is_closed():
            self._app_loop.call_soon_threadsafe(self._spawn, self._jobs.fire(job_id))

    def _on_missed(self, event: JobExecutionEvent) -> None:
        job_id = _job_id(event.job_id)
        if job_id is not None and self._app_loop is not None and not self._app_loop.is_closed():
            when = event.scheduled_run_time
            self._app_loop.call_soon_threadsafe(self._spawn, self._jobs.missed(job_id, when))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(_logged(coro))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _apply_grace(self) -> None:
        if self._scheduler is None:
            return
        for job in self._scheduler.get_jobs():
            if job.misfire_grace_time != self._grace:
                job.modify(misfire_grace_time=self._grace)

    def _timed_ids(self) -> set[int]:
        if self._scheduler is None:
            return set()
        ids = (_job_id(job.id) for job in self._scheduler.get_jobs())
        return {i for i in ids if i is not None}


async def _logged(coro: Any) -> None:
    try:
        await coro
    except Exception:
        log.exception("a scheduled job failed")


async def _drain() -> None:
    """On the scheduler's loop: let its last callbacks run, then cancel what is left."""
    await asyncio.sleep(0)
    current = asyncio.current_task()
    rest = [t for t in asyncio.all_tasks() if t is not current]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


def _job_id(aps_id: str) -> int | None:
    if aps_id.startswith(JOB_PREFIX) and aps_id[len(JOB_PREFIX) :].isdigit():
        return int(aps_id[len(JOB_PREFIX) :])
    return None


class Background:
    """The `Service`: leads when it can, standing by otherwise."""

    def __init__(
        self,
        leadership: Leadership,
        jobs: Jobs,
        runner: TaskRunner,
        sync_engine: Engine,
        *,
        grace_seconds: int,
    ) -> None:
        self._leadership = leadership
        self._jobs = jobs
        self._runner = runner
        self._sync_engine = sync_engine
        self._grace = grace_seconds
        self._timer: JobTimer | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self.leading = asyncio.Event()

    async def start(self) -> None:
        await self._try_to_lead()
        self._loop_task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        await self._step_down()
        self._sync_engine.dispose()

    async def _try_to_lead(self) -> None:
        if not await self._leadership.try_acquire():
            return
        log.info("this process runs the scheduler and background tasks")
        self._timer = JobTimer(self._jobs, self._sync_engine, grace_seconds=self._grace)
        await self._timer.start()
        self._jobs.timer = self._timer
        await self._runner.start()
        self.leading.set()

    async def _step_down(self) -> None:
        self.leading.clear()
        self._jobs.timer = None
        await self._runner.stop()
        if self._timer is not None:
            await self._timer.stop()
            self._timer = None
        await self._leadership.release()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(SYNC_EVERY if self._timer else LEADER_RETRY)
            try:
                if self._timer is None:
                    await self._try_to_lead()
                elif not await self._leadership.still_held():
                    log.error("lost the scheduler lock; standing by")
                    await self._step_down()
                else:
                    await self._timer.sync()
            except Exception:
                log.exception("background leadership check failed; retrying")
