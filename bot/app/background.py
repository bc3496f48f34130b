"""Background work: deliveries, the scheduler, jobs and long-horizon tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.background.jobs import Jobs
from bot.background.quota import Allows, QuotaPauses
from bot.background.runner import TaskRunner
from bot.background.scheduler import Background
from bot.background.step import Stepper, TaskLimits
from bot.background.tasks import Tasks, WaitingTasks
from bot.chat.delivery import Deliverer
from bot.chat.outbox import Outbox
from bot.chat.receivers import Receivers
from bot.commands.background import background_commands
from bot.commands.registry import CommandRegistry
from bot.http.observability import Gauge, GaugeSource
from bot.llm.client import LLM
from bot.settings import CoreSettings, Settings
from bot.tools import Tool, ToolRegistry
from bot.tools.schedule import schedule_tools
from bot.tools.tasks import task_tools
from memory import db
from memory.conversations import ConversationStore
from memory.db.leader import Leadership
from memory.db.queue import StepQueue
from memory.deliveries import DeliveryStore
from memory.jobs import JobStore
from memory.tasks import TaskStore


@dataclass
class BackgroundParts:
    jobs: Jobs
    tasks: Tasks
    waiting: WaitingTasks  # a ContextSource: questions tasks wait to have answered
    deliverer: Deliverer
    scheduler: Background
    store: TaskStore
    runner: TaskRunner
    # CLAWLING_QUEUE_URL: steps run on `clawling worker` processes (None: in the leader).
    queue: StepQueue | None = None

    @property
    def services(self) -> tuple[Deliverer, Background]:
        return (self.deliverer, self.scheduler)

    async def queue_problem(self) -> str | None:
        """/readyz: the reason only (the driver's words may name the host and user)."""
        if self.queue is None:
            return None
        try:
            async with asyncio.timeout(3):
                # Its tables are the schema's, which /readyz checks already.
                problem = await self.queue.problem(tables=False)
        except TimeoutError:
            problem = "no answer"
        return None if problem is None else "task queue unreachable"

    async def queue_depth(self) -> list[Gauge]:
        """/metrics: task steps waiting for a worker and running on one."""
        if self.queue is None:
            return []
        counts = await self.queue.depth()
        return [
            Gauge("clawling_queue_steps", "Task steps on the queue", {"status": status}, count)
            for status, count in sorted(counts.items())
        ]

    async def task_counts(self) -> list[Gauge]:
        """/metrics: tasks by status."""
        counts = await self.store.count_by_status()
        return [
            Gauge("clawling_tasks", "Background tasks by status", {"status": status}, count)
            for status, count in sorted(counts.items())
        ]


def leader_gauges(scheduler: Background, receivers: Receivers) -> GaugeSource:
    """/metrics: `clawling_leader{role=...}`, 1 where this process holds that job's lock
    (background: the scheduler and task runner; receivers: polling and Socket Mode)."""

    async def gauges() -> list[Gauge]:
        held = {"background": scheduler.leading.is_set(), "receivers": receivers.receiving}
        return [
            Gauge("clawling_leader", "1 where this process holds the role", {"role": r}, float(h))
            for r, h in held.items()
        ]

    return gauges


def task_limits(core: CoreSettings) -> TaskLimits:
    return TaskLimits(
        max_steps=core.task_max_steps,
        max_tokens=core.task_max_tokens,
        max_seconds=core.task_max_seconds,
        context_tokens=core.task_context_tokens,
        concurrency=core.task_concurrency,
        per_user=core.tasks_per_user,
        subtask_concurrency=core.subtask_concurrency,
        max_subtasks=core.max_subtasks,
        goal_chars=core.task_goal_chars,
        progress_seconds=core.task_progress_seconds,
        tool_output_chars=core.tool_output_chars,
        tool_timeout=core.tool_timeout,
    )


def build_background(
    settings: Settings,
    engine: AsyncEngine,
    store: ConversationStore,
    llm: LLM,
    tools: ToolRegistry,
    outbox: Outbox,
    commands: CommandRegistry,
    now: Callable[[], datetime],
    allows: Allows | None = None,
    *,
    replica_id: str | None = None,
) -> BackgroundParts:
    """Tasks get the app's general tools, including those registered later (MCP);
    the scheduling and task tools added here (which start more work) are for
    conversations only. `allows`: whether a person's budget admits calls (tasks paused
    for it resume). `replica_id`: this process's, on the deliveries it claims."""
    core = settings.core
    conversation_only: set[str] = set()

    def general_tools() -> list[Tool]:
        return [t for t in tools.tools if t.name not in conversation_only]

    deliverer = Deliverer(DeliveryStore(engine, replica_id), outbox)
    task_store = TaskStore(engine)
    limits = task_limits(core)
    stepper = Stepper(
        task_store,
        llm,
        general_tools,
        tools.hooks,
        deliverer,
        limits=limits,
        assistant_name=core.assistant_name,
        now=now,
        default_timezone=core.timezone,
    )
    pauses = None if allows is None else QuotaPauses(task_store, deliverer, allows)
    queue = None if core.queue_url is None else StepQueue(core.queue_url)
    runner = TaskRunner(task_store, store, stepper, outbox, deliverer, pauses, queue=queue)
    tasks = Tasks(task_store, runner, deliverer, limits)
    jobs = Jobs(
        JobStore(engine),
        store,
        tasks,
        deliverer,
        grace_seconds=core.job_grace_seconds,
        late_after_seconds=core.job_late_after_seconds,
        heartbeat_minutes=core.heartbeat_minutes,
        default_timezone=core.timezone,
        now=now,
    )
    for item in [*schedule_tools(jobs), *task_tools(tasks)]:
        tools.add(item)
        conversation_only.add(item.name)
    background_commands(commands, jobs, tasks)
    scheduler = Background(
        Leadership(engine),
        jobs,
        runner,
        db.create_sync_engine(settings.database_url),
        grace_seconds=core.job_grace_seconds,
    )
    return BackgroundParts(
        jobs, tasks, WaitingTasks(task_store), deliverer, scheduler, task_store, runner, queue
    )
