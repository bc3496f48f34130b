"""The task runner: drives background tasks (only in the leader process).

Each step (bot/background/step.py) is one model call plus its tool calls over a bounded
context and ends in a checkpoint; a restarted runner resumes every `running` task
from its last checkpoint. Sub-tasks run inside their parent's worker under
CLAWLING_SUBTASK_CONCURRENCY, and the parent collects every result.

With a queue (CLAWLING_QUEUE_URL, memory/db/queue.py) the leader runs no steps: it hands
each running task's next step to the queue, and `clawling worker` processes run them
(`run_step`), one step a job; a job queues its task's next step when it ends. A job
acts only if the task is still at the step it was queued for, and its checkpoint is
stored only if the task still is (so a step delivered twice counts once); the messages
it writes are deliveries with keys, sent by the replicas. Sub-tasks run inside their
parent's job. Progress is not edited into a status message there (a worker holds no
chat connection); milestones and the result arrive as messages.

A step refused because the person's token budget is spent pauses the whole task
(bot/background/quota.py), sub-tasks included, and the loop that claims queued tasks
also resumes such tasks once the budget allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.background.context import RECENT_STEPS
from bot.background.progress import StatusMessage, status_line, to_chat
from bot.background.quota import RECHECK_SECONDS, QuotaPauses
from bot.background.step import MAX_SOURCES, Stepper, TaskLimits
from bot.chat.channels import ChatRef
from bot.chat.delivery import Deliverer
from bot.chat.outbox import Outbox
from bot.llm.quota import QuotaExceeded
from bot.logcontext import turn_context
from bot.tools import TurnState
from memory.conversations import ConversationRecord, ConversationStore, UserRecord
from memory.db.queue import StepQueue
from memory.tasks import (
    FINISHED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    UNTRUSTED,
    Progress,
    TaskRecord,
    TaskStore,
)

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# With a queue: running tasks with no step queued (a job that failed on a database
# error) are handed over again this often.
SWEEP_SECONDS = 30.0
# With a queue: tasks marked running at once per look (the queue bounds how many run).
QUEUE_CLAIM = 50

__all__ = ["TaskLimits", "TaskRunner"]


class TaskRunner:
    """A `Service` of the background leader (see bot/background/scheduler.py: Background)."""

    def __init__(
        self,
        store: TaskStore,
        users: ConversationStore,
        stepper: Stepper,
        outbox: Outbox,
        deliverer: Deliverer,
        quota: QuotaPauses | None = None,
        *,
        quota_recheck: float = RECHECK_SECONDS,
        queue: StepQueue | None = None,
    ) -> None:
        self._queue = queue
        self._swept_at = 0.0
        self._quota = quota
        self._quota_recheck = quota_recheck
        self._recheck_at = 0.0  # when paused tasks' budgets are looked at next
        self._store = store
        self._users = users
        self._stepper = stepper
        self._outbox = outbox
        self._deliverer = deliverer
        self.limits = stepper.limits
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        # Told each step's duration in seconds (/metrics: clawling_task_step_seconds).
        self.step_timers: list[Callable[[float], None]] = []

    def wake(self) -> None:
        self._wake.set()

    def recheck_budgets(self) -> None:
        """A budget changed: look at tasks paused for theirs now, not at the next round."""
        self._recheck_at = 0.0
        self._wake.set()

    def interrupt(self, task_id: int) -> None:
        """Stop the local worker of a task at once (after /pause or /cancel)."""
        worker = self._workers.get(task_id)
        if worker is not None:
            worker.cancel()

    async def start(self) -> None:
        self._stopping = False
        if self._queue is not None:
            # Connected by the first hand-over (a queue that does not answer is retried
            # each round, and reported by /readyz and `clawling doctor`).
            self._swept_at = 0.0  # the first round hands over what was running
        else:
            for task in await self._store.find(statuses=(RUNNING,), top_level=True, limit=10_000):
                log.info("resuming task %s from step %s", task.id, task.step)
                self._launch(task.id)
        self._loop_task = asyncio.create_task(self._claim_loop())

    async def stop(self) -> None:
        """Stop working; running tasks stay `running` and resume on the next start."""
        self._stopping = True
        tasks = [t for t in [self._loop_task, *self._workers.values()] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._loop_task = None
        if self._queue is not None:
            await self._queue.close()

    async def _claim_loop(self) -> None:
        while True:
            try:
                if self._quota is not None and time.monotonic() >= self._recheck_at:
                    self._recheck_at = time.monotonic() + self._quota_recheck
                    await self._quota.resume_due()
                if self._queue is not None:
                    await self._hand_over_due(self._queue)
                else:
                    free = self.limits.concurrency - len(self._workers)
                    for task_id in await self._store.claim_queued(free, self.limits.per_user):
                        self._launch(task_id)
            except Exception:
                log.exception("claiming queued tasks failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()

    async def _hand_over_due(self, queue: StepQueue) -> None:
        """Queue the first step of newly started tasks, and (every SWEEP_SECONDS) the next
        step of running ones that have none queued."""
        for task_id in await self._store.claim_queued(QUEUE_CLAIM, self.limits.per_user):
            task = await self._store.get(task_id)
            if task is not None:
                await queue.hand_over(task_id, task.step)
        if time.monotonic() < self._swept_at:
            return
        self._swept_at = time.monotonic() + SWEEP_SECONDS
        queued = await queue.tasks_with_jobs()
        for task in await self._store.find(statuses=(RUNNING,), top_level=True, limit=10_000):
            if task.id not in queued:
                log.info("handing task %s over to the queue at step %s", task.id, task.step)
                await queue.hand_over(task.id, task.step)

    async def run_step(self, task_id: int, step: int) -> None:
        """One queued job (on a `clawling worker`): the next step of a task at `step`."""
        if self._queue is None:
            raise RuntimeError("run_step needs the queue")
        task = await self._store.get(task_id)
        if task is None or task.status != RUNNING:
            return
        if task.step == step:
            with turn_context(user_id=task.user_id, conversation_id=task.conversation_id):
                await self._guarded(task_id, self._advance(task, await self._run_of(task)))
        else:
            log.info("task %s: step %s was run already (now at %s)", task_id, step + 1, task.step)
        after = await self._store.get(task_id)
        if after is not None and after.status == RUNNING:
            await self._queue.hand_over(task_id, after.step)
        self._deliverer.notify()

    def _launch(self, task_id: int) -> None:
        worker = asyncio.create_task(self._guarded(task_id, self._drive(task_id)))
        self._workers[task_id] = worker
        worker.add_done_callback(lambda _: self._workers.pop(task_id, None))

    async def _guarded(self, task_id: int, work: Coroutine[Any, Any, object]) -> None:
        """Run a task's work; whatever stops it is recorded on the task."""
        try:
            await work
        except asyncio.CancelledError:
            if self._stopping or self._queue is not None:
                # Shutting down: the task resumes on the next start (a queued step, on
                # the worker that takes the job next).
                raise
            log.info("task %s interrupted (paused or cancelled)", task_id)
            await self._show_final(task_id)
        except QuotaExceeded as refused:
            if self._quota is None:
                await self._stepper.fail(task_id, refused.budget or str(refused))
            else:
                await self._quota.pause(task_id, refused)
                await self._show_final(task_id)
        except Exception:
            log.exception("task %s failed on our side", task_id)
            await self._stepper.fail(task_id, "it failed on my side; the details were logged.")
        finally:
            self.wake()  # a slot is free

    async def _drive(self, task_id: int) -> None:
        """Run one task until it finishes, waits, or is stopped from outside."""
        task = await self._store.get(task_id)
        if task is None:
            return
        # Its log lines, and the calls its tools make (embeddings), are the person's.
        with turn_context(user_id=task.user_id, conversation_id=task.conversation_id):
            await self._drive_task(task)

    async def _run_of(self, found: TaskRecord, *, status: bool = False) -> _Run:
        user = await self._users.get_user(found.user_id) or UserRecord(found.user_id, "", None)
        return _Run(
            user,
            await self._users.get_conversation(found.conversation_id),
            # What the task read before (an earlier run, its parent) is still in its context.
            TurnState(untrusted=list(found.checkpoint.get(UNTRUSTED, []))),
            self._status_message(found) if status else None,
        )

    async def _drive_task(self, found: TaskRecord) -> None:
        run = await self._run_of(found, status=True)
        task: TaskRecord | None = found
        while task is not None and task.status == RUNNING:
            task = await self._advance(task, run)
        if run.status is not None:
            await self._show_final(found.id, run.status)
        self._deliverer.notify()

    async def _advance(self, task: TaskRecord, run: _Run) -> TaskRecord | None:
        """One step of a running task (or its sub-tasks' run, or its wrap-up); the task
        as it is now, or None when it stopped."""
        if task.checkpoint.get("waiting_children"):
            after = await self._run_children(task)
            for source in [] if after is None else after.checkpoint.get(UNTRUSTED, []):
                if source not in run.turn.untrusted:
                    run.turn.untrusted.append(source)
            return after
        reason = self._stepper.exhausted(task)
        if reason:
            await self._stepper.wrap_up(task, reason)
            return None
        if task.step % RECENT_STEPS == 0:
            # Identical calls are refused within what the model can see (its last
            # RECENT_STEPS steps), not for the task's whole life.
            run.seen.clear()
        if run.status is not None:
            await run.status.show(status_line(task, task.checkpoint.get("doing", "")))
        started = time.perf_counter()
        try:
            return await self._stepper.step(task, run.user, run.conversation, run.seen, run.turn)
        finally:
            # Failed and cancelled steps too: a step that hangs until it is cut off is
            # what the histogram is for.
            for timer in self.step_timers:
                timer(time.perf_counter() - started)

    def _status_message(self, task: TaskRecord) -> StatusMessage | None:
        if task.quiet or task.parent_id is not None:
            return None

        async def remember(message_id: str) -> None:
            await self._store.set_status_message(task.id, message_id)

        chat = ChatRef(task.channel, task.chat_id, task.thread_id)
        return StatusMessage(
            self._outbox,
            chat,
            task.status_message_id,
            interval=self.limits.progress_seconds,
            remember=remember,
        )

    async def _show_final(self, task_id: int, status: StatusMessage | None = None) -> None:
        task = await self._store.get(task_id)
        if task is None or self._queue is not None:
            return
        status = status or self._status_message(task)
        if status is not None:
            await status.show(status_line(task), force=True)

    async def _run_children(self, task: TaskRecord) -> TaskRecord | None:
        children = await self._store.find(parent_id=task.id, limit=10_000)
        gate = asyncio.Semaphore(self.limits.subtask_concurrency)
        refused: list[QuotaExceeded] = []

        async def run(child: TaskRecord) -> None:
            async with gate:
                if refused:
                    return  # the budget is spent: the parent pauses, the rest wait with it
                if child.status == QUEUED:
                    await self._store.move(child.id, (QUEUED,), RUNNING, event="started")
                try:
                    await self._drive(child.id)
                except QuotaExceeded as exc:
                    refused.append(exc)

        await asyncio.gather(*(run(c) for c in children if c.status not in FINISHED))
        if refused:
            raise refused[0]
        children = sorted(
            await self._store.find(parent_id=task.id, limit=10_000), key=lambda c: c.id
        )
        collected = [
            {"id": c.id, "goal": c.goal, "status": c.status, "result": c.result or ""}
            for c in children
        ]
        checkpoint = {**task.checkpoint, "subtasks": collected, "waiting_children": False}
        # Sub-task results may repeat what the sub-tasks read.
        read = [s for c in children for s in c.checkpoint.get(UNTRUSTED, [])]
        if read:
            merged = dict.fromkeys([*task.checkpoint.get(UNTRUSTED, []), *read])
            checkpoint[UNTRUSTED] = list(merged)[-MAX_SOURCES:]
        done = sum(c.status == SUCCEEDED for c in children)
        summary = f"{done} of {len(children)} sub-tasks succeeded"
        progress = Progress(
            step=task.step,
            tokens_used=task.tokens_used,
            seconds_used=task.seconds_used,
            plan=task.plan,
            notes=task.notes,
            checkpoint=checkpoint,
            events=[("subtasks_done", summary)],
        )
        if not task.quiet:
            progress.messages.append(
                to_chat(task, f"children:{len(children)}", f"🔀 Task #{task.id}: {summary}.")
            )
        return await self._stepper.save(task, progress, [])


@dataclass
class _Run:
    """What one run of a task carries from step to step (a queued step: one step)."""

    user: UserRecord
    conversation: ConversationRecord | None
    turn: TurnState
    status: StatusMessage | None
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
