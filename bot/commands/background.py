"""Chat commands for jobs and tasks: /jobs /cancel_job /timezone /heartbeat /tasks /task
/pause /resume /cancel /answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.background.jobs import Jobs
from bot.background.tasks import TaskInputError, Tasks
from bot.background.when import WhenError
from bot.commands.registry import Command, CommandContext, CommandHandler, CommandRegistry


def _task_id(text: str) -> int | None:
    head = text.strip().split(" ", 1)[0].lstrip("#")
    return int(head) if head.isdigit() else None


def background_commands(registry: CommandRegistry, jobs: Jobs, tasks: Tasks) -> None:
    """Register the commands for background work."""

    async def list_jobs(ctx: CommandContext) -> str:
        found = await jobs.store.find(user_id=ctx.user.id)
        if not found:
            return 'No active jobs. Ask me e.g. "remind me tomorrow at 9 to call Ana".'
        zone = await jobs.zone_of(ctx.user.id)
        return "\n".join(jobs.describe(job, zone) for job in found)

    async def cancel_job(ctx: CommandContext) -> str:
        job_id = _task_id(ctx.args)
        if job_id is None:
            return "Usage: /cancel_job ID (see /jobs)"
        job = await jobs.cancel(ctx.user.id, job_id)
        return (
            f"Cancelled {job.kind} #{job.id}."
            if job
            else f"There is no active job #{job_id} of yours."
        )

    async def timezone(ctx: CommandContext) -> str:
        if not ctx.args:
            zone = await jobs.zone_of(ctx.user.id)
            return (
                f"Your time zone is {zone.key}. Change it with /timezone Europe/Berlin (IANA name)."
            )
        try:
            return await jobs.set_timezone(ctx.user.id, ctx.args)
        except WhenError as exc:
            return f"Not changed: {exc}."

    async def heartbeat(ctx: CommandContext) -> str:
        words = ctx.args.lower().split()
        if not words:
            current = await jobs.store.heartbeat_of(ctx.user.id)
            state = f"on ({current.description})" if current else "off"
            return f"Heartbeat is {state}. Use /heartbeat on [minutes] or /heartbeat off."
        if words[0] == "off":
            return await jobs.heartbeat(ctx.user, ctx.conversation, None)
        if words[0] != "on":
            return "Usage: /heartbeat on [minutes] | /heartbeat off"
        minutes = jobs.heartbeat_minutes
        if len(words) > 1:
            if not words[1].isdigit() or not 5 <= int(words[1]) <= 24 * 60:
                return "The heartbeat interval is a number of minutes from 5 to 1440."
            minutes = int(words[1])
        return await jobs.heartbeat(ctx.user, ctx.conversation, minutes)

    async def list_tasks(ctx: CommandContext) -> str:
        return await tasks.overview(ctx.user.id)

    async def task(ctx: CommandContext) -> str:
        if not ctx.args:
            return "Usage: /task <goal> starts a background task; /task ID shows one."
        task_id = _task_id(ctx.args)
        if task_id is not None and ctx.args.strip().lstrip("#").isdigit():
            return await tasks.describe(ctx.user.id, task_id)
        try:
            started = await tasks.start(ctx.user, ctx.conversation, ctx.args)
        except TaskInputError as exc:
            return f"Not started: {exc}"
        return (
            f"Started task #{started.id}. I'll post progress here; the chat stays free. "
            f"/task {started.id} shows it, /pause {started.id} or /cancel {started.id} stops it."
        )

    def by_id(verb: str, action: Callable[[int, int], Awaitable[str]]) -> CommandHandler:
        async def handler(ctx: CommandContext) -> str:
            task_id = _task_id(ctx.args)
            if task_id is None:
                return f"Usage: /{verb} ID (see /tasks)"
            return await action(ctx.user.id, task_id)

        return handler

    async def answer(ctx: CommandContext) -> str:
        task_id = _task_id(ctx.args)
        if task_id is None:
            return "Usage: /answer ID <your answer>"
        _, _, text = ctx.args.strip().partition(" ")
        return await tasks.answer(ctx.user.id, task_id, text)

    for command in (
        Command("jobs", "your reminders and scheduled jobs", list_jobs, immediate=True),
        Command("cancel_job", "cancel a job: /cancel_job ID", cancel_job, immediate=True),
        Command("timezone", "show or set your time zone", timezone, immediate=True),
        Command(
            "heartbeat",
            "standing instructions check: on [minutes] | off",
            heartbeat,
            immediate=True,
        ),
        Command("tasks", "your background tasks", list_tasks, immediate=True),
        Command(
            "task",
            "start a background task: /task <goal>; /task ID shows one",
            task,
            immediate=True,
        ),
        Command("pause", "pause a task: /pause ID", by_id("pause", tasks.pause), immediate=True),
        Command(
            "resume",
            "resume a paused task: /resume ID",
            by_id("resume", tasks.resume),
            immediate=True,
        ),
        Command(
            "cancel", "cancel a task: /cancel ID", by_id("cancel", tasks.cancel), immediate=True
        ),
        Command("answer", "answer a task's question: /answer ID TEXT", answer, immediate=True),
    ):
        registry.add(command)
