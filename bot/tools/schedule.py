"""Tools for reminders, recurring prompts, standing instructions and the time zone."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.background.jobs import Jobs
from bot.background.when import EXAMPLES, WhenError
from bot.errors import ToolError
from bot.tools import Tool, ToolContext, tool

WHEN_HELP = f"When, in the person's time zone: {EXAMPLES}."


class ReminderArgs(BaseModel):
    message: str = Field(description="What to remind the person of, as they should read it.")
    when: str = Field(description=WHEN_HELP)


class PromptArgs(BaseModel):
    prompt: str = Field(
        description="The request to carry out each time, written as an instruction."
    )
    when: str = Field(description=WHEN_HELP)


class InstructionArgs(BaseModel):
    instruction: str = Field(description="E.g. 'check my open tasks'.")
    when: str = Field(description="How often it is due, e.g. 'every day at 8:00', 'every 2 hours'.")


class NoArgs(BaseModel):
    pass


class JobIdArgs(BaseModel):
    job_id: int = Field(description="As list_jobs shows it.")


class TimezoneArgs(BaseModel):
    timezone: str = Field(description="IANA time zone name such as Europe/Berlin.")


def schedule_tools(jobs: Jobs) -> list[Tool]:
    """The scheduling tools, bound to the app's Jobs."""

    async def create(ctx: ToolContext, kind: str, text: str, when: str) -> str:
        try:
            job = await jobs.schedule(ctx.user, ctx.conversation, kind, text, when)
        except WhenError as exc:
            raise ToolError(str(exc)) from None
        return f"Scheduled {kind} #{job.id}: {job.description}."

    @tool(side_effects=True)
    async def schedule_reminder(ctx: ToolContext, args: ReminderArgs) -> str:
        """Remind the person of something at a time, once or repeatedly (a plain message)."""
        return await create(ctx, "reminder", args.message, args.when)

    @tool(side_effects=True)
    async def schedule_prompt(ctx: ToolContext, args: PromptArgs) -> str:
        """Carry out a request on a schedule (e.g. every weekday at 8 send a summary of ...);
        each time the result is posted in this conversation."""
        return await create(ctx, "prompt", args.prompt, args.when)

    @tool(side_effects=True)
    async def add_standing_instruction(ctx: ToolContext, args: InstructionArgs) -> str:
        """Add a standing instruction that the person's heartbeat acts on when it is due."""
        result = await create(ctx, "instruction", args.instruction, args.when)
        if await jobs.store.heartbeat_of(ctx.user.id) is None:
            result += " Note: the heartbeat is off; the person turns it on with /heartbeat on."
        return result

    @tool(read_only=True)
    async def list_jobs(ctx: ToolContext, args: NoArgs) -> str:
        """List the person's active reminders, scheduled prompts and standing instructions."""
        found = await jobs.store.find(user_id=ctx.user.id)
        if not found:
            return "No active jobs."
        return "\n".join(jobs.describe(job, ctx.timezone) for job in found)

    @tool(side_effects=True)
    async def cancel_job(ctx: ToolContext, args: JobIdArgs) -> str:
        """Cancel one of the person's jobs by its number."""
        job = await jobs.cancel(ctx.user.id, args.job_id)
        if job is None:
            raise ToolError(f"there is no active job #{args.job_id} of this person")
        return f"Cancelled {job.kind} #{job.id}."

    @tool(side_effects=True)
    async def set_timezone(ctx: ToolContext, args: TimezoneArgs) -> str:
        """Set the person's time zone (used for all times they give or see)."""
        try:
            return await jobs.set_timezone(ctx.user.id, args.timezone)
        except WhenError as exc:
            raise ToolError(str(exc)) from None

    return [
        schedule_reminder,
        schedule_prompt,
        add_standing_instruction,
        list_jobs,
        cancel_job,
        set_timezone,
    ]
