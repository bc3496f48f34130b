"""Tools that start background tasks and pass the person's answers to them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.background.tasks import TaskInputError, Tasks
from bot.errors import ToolError
from bot.tools import Tool, ToolContext, tool


class StartArgs(BaseModel):
    goal: str = Field(description="What it must achieve, self-contained.")
    success_check: str = Field("", description="A criterion the result must pass.")
    max_steps: int | None = Field(None, description="Fewer steps than the default.")


class AnswerArgs(BaseModel):
    task_id: int
    answer: str = Field(description="The person's answer, in their words.")


def task_tools(tasks: Tasks) -> list[Tool]:
    """The task tools for conversation turns, bound to the app's Tasks."""

    @tool(side_effects=True)
    async def start_task(ctx: ToolContext, args: StartArgs) -> str:
        """Run long work (research, many steps) in the background; progress and the result appear here. Use it for more than a few tool calls."""
        try:
            task = await tasks.start(
                ctx.user,
                ctx.conversation,
                args.goal,
                success_check=args.success_check,
                max_steps=args.max_steps,
            )
        except TaskInputError as exc:
            raise ToolError(str(exc)) from None
        return (
            f"Started task #{task.id} (at most {task.budget.max_steps} steps). Progress and "
            f"the result will appear in this chat; /task {task.id} shows its status."
        )

    @tool(side_effects=True)
    async def answer_task(ctx: ToolContext, args: AnswerArgs) -> str:
        """Pass the person's answer to a background task that is waiting for it."""
        return await tasks.answer(ctx.user.id, args.task_id, args.answer)

    return [start_task, answer_task]
