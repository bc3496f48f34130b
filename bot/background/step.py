"""One step of a background task: a model call over a bounded context, its tool
calls, the success check, and the checkpoint that ends it (bot/background/runner.py drives
the steps). Budgets are checked here and end a task with a partial result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.agent.loop import run_tool_calls
from bot.agent.prompt import Chat, time_note
from bot.background.context import (
    RECENT_STEPS,
    RESULT_CHARS,
    StepState,
    TaskView,
    build_step_prompt,
    control_tools,
    cut,
    describe_step,
    dump_arguments,
    read_verdict,
    verify_prompt,
)
from bot.background.progress import result_message, to_chat
from bot.chat.delivery import Deliverer
from bot.llm.client import LLM, CallMeta, Completion, LLMError
from bot.tools import Tool, ToolContext, ToolHook, ToolRegistry, TurnState
from memory.conversations import ConversationRecord, UserRecord
from memory.deliveries import OutgoingMessage
from memory.tasks import (
    FAILED,
    RUNNING,
    SUCCEEDED,
    UNTRUSTED,
    WAITING,
    Budget,
    Progress,
    TaskRecord,
    TaskStore,
)

log = logging.getLogger(__name__)

LLM_ATTEMPTS = 3
MAX_SOURCES = 20  # untrusted sources a task remembers (the newest)


@dataclass(frozen=True)
class TaskLimits:
    max_steps: int = 100
    max_tokens: int = 1_000_000
    max_seconds: int = 3600
    context_tokens: int = 12_000
    concurrency: int = 4
    per_user: int = 2
    subtask_concurrency: int = 3
    max_subtasks: int = 10
    goal_chars: int = 8_000
    progress_seconds: float = 5.0
    tool_output_chars: int = 16_000
    tool_timeout: float = 60.0


class Stepper:
    """Runs one step of a task: the model call, its tools, the checkpoint."""

    def __init__(
        self,
        store: TaskStore,
        llm: LLM,
        tools: Callable[[], Sequence[Tool]],
        hooks: Sequence[ToolHook],
        deliverer: Deliverer,
        *,
        limits: TaskLimits,
        assistant_name: str,
        now: Callable[[], datetime],
        default_timezone: str,
    ) -> None:
        self._store = store
        self._llm = llm
        self._base_tools = tools  # read at every step: MCP tools arrive after start-up
        self._hooks = list(hooks)  # the app's safety rules apply to tasks too
        self._deliverer = deliverer
        self.limits = limits
        self._name = assistant_name
        self._now = now
        self._default_timezone = default_timezone

    def subtask_budget(self) -> Budget:
        limits = self.limits
        return Budget(limits.max_steps, limits.max_tokens, limits.max_seconds)

    def _registry(self, control: list[Tool]) -> ToolRegistry:
        """The app's general tools plus this step's control tools."""
        return ToolRegistry(
            [*self._base_tools(), *control],
            output_chars=self.limits.tool_output_chars,
            timeout=self.limits.tool_timeout,
            hooks=self._hooks,
        )

    def exhausted(self, task: TaskRecord) -> str:
        budget = task.budget
        if task.step >= budget.max_steps:
            return f"the step budget ({budget.max_steps} steps) is used up"
        if task.tokens_used >= budget.max_tokens:
            return f"the token budget ({budget.max_tokens:,} tokens) is used up"
        if task.seconds_used >= budget.max_seconds:
            return f"the time budget ({budget.max_seconds // 60} minutes of work) is used up"
        return ""

    def _view(self, task: TaskRecord, zone: ZoneInfo) -> TaskView:
        line = (
            f"Step {task.step + 1} of at most {task.budget.max_steps}; "
            f"{task.tokens_used:,} of {task.budget.max_tokens:,} tokens used; "
            f"{int(task.seconds_used)} of {task.budget.max_seconds} seconds used. "
            + time_note(self._now().astimezone(zone), zone.key)
        )
        return TaskView(
            task.id, task.goal, task.success_check, task.plan, task.notes, task.checkpoint, line
        )

    async def _complete(
        self,
        task: TaskRecord,
        request: Chat,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
    ) -> Completion:
        """One model call for a task; a failing endpoint gets a few slower tries."""
        meta = CallMeta("task", task.conversation_id, task.user_id)
        attempt = 1
        while True:
            try:
                return await self._llm.complete(request, tools, meta=meta, tool_choice=tool_choice)
            except LLMError:
                if attempt >= LLM_ATTEMPTS:
                    raise
                await asyncio.sleep(5 * attempt)
                attempt += 1

    async def step(
        self,
        task: TaskRecord,
        user: UserRecord,
        conversation: ConversationRecord | None,
        seen: Counter[tuple[str, str]],
        turn: TurnState,
    ) -> TaskRecord | None:
        """One step; `seen` and `turn` carry what earlier steps of this run learned
        (repeated calls; untrusted content read, which makes side effects need a yes)."""
        started = time.monotonic()
        zone = ZoneInfo(user.timezone or self._default_timezone)
        children = await self._store.count_children(task.id) if task.parent_id is None else 0
        state = StepState(
            plan=task.plan,
            notes=task.notes,
            can_ask=task.parent_id is None,
            subtask_room=max(0, self.limits.max_subtasks - children),
        )
        tools = self._registry(control_tools(state, self.limits.goal_chars))
        request = build_step_prompt(
            self._name, self._view(task, zone), tools.schemas(), self.limits.context_tokens
        )
        try:
            completion = await self._complete(task, request, tools=tools.schemas())
        except LLMError as exc:
            await self.fail(task.id, f"the model service kept failing ({exc.user_message})")
            return None
        step = task.step + 1
        used = completion.usage.prompt_tokens + completion.usage.completion_tokens
        calls: list[tuple[str, str, str]] = []
        if completion.tool_calls and conversation is not None:
            ctx = ToolContext(
                user=user, conversation=conversation, timezone=zone, now=self._now, turn=turn
            )
            results = await run_tool_calls(tools, ctx, completion.tool_calls, seen)
            calls = [
                (c.name, dump_arguments(c.arguments), r.content)
                for c, r in zip(completion.tool_calls, results, strict=True)
            ]
        elif not completion.tool_calls:
            state.result = cut(
                completion.content.strip(), RESULT_CHARS
            )  # a plain answer is the result
        checkpoint = dict(task.checkpoint)
        recent = [*checkpoint.get("recent", []), describe_step(step, completion.content, calls)]
        answer = checkpoint.pop("answer", None)  # shown in this step; now a step result
        if answer:
            recent.insert(
                -1, f"The person answered {answer['question']!r}: {cut(answer['answer'], 1_000)}"
            )
        checkpoint["recent"] = recent[-RECENT_STEPS:]
        checkpoint["doing"] = ", ".join(dict.fromkeys(c[0] for c in calls)) or "thinking"
        if turn.untrusted:
            # What this task has read stays in its notes, plan and results for its whole
            # life: the taint outlives this run (restarts, answers, sub-tasks).
            checkpoint[UNTRUSTED] = turn.untrusted[-MAX_SOURCES:]
        task = replace(task, checkpoint=checkpoint)  # the result message sees the taint
        progress = Progress(
            step=step,
            tokens_used=task.tokens_used + used,
            seconds_used=task.seconds_used + (time.monotonic() - started),
            plan=state.plan,
            notes=state.notes,
            checkpoint=checkpoint,
            events=[("step", cut(recent[-1], 2_000))],
        )
        self._milestones(task, state, progress)
        if state.result is not None:
            await self._judge(task, state, progress)
        return await self.save(task, progress, state.subtasks)

    def _milestones(self, task: TaskRecord, state: StepState, progress: Progress) -> None:
        loud = not task.quiet and task.parent_id is None
        if state.plan and not task.plan and loud:
            progress.messages.append(
                to_chat(task, "plan", f"📋 Task #{task.id} plan:\n{cut(state.plan, 3_000)}")
            )
        if state.question:
            progress.status, progress.question = WAITING, state.question
            progress.events.append(("question", state.question))
            progress.messages.append(
                to_chat(
                    task,
                    f"question:{progress.step}",
                    f"❓ Task #{task.id} needs your answer: {state.question}\n"
                    f"Reply with /answer {task.id} <your answer>.",
                )
            )
        if state.subtasks:
            progress.checkpoint["waiting_children"] = True
            progress.events.append(("subtasks", f"{len(state.subtasks)} sub-tasks started"))
            if loud:
                progress.messages.append(
                    to_chat(
                        task,
                        f"spawn:{progress.step}",
                        f"🔀 Task #{task.id} started {len(state.subtasks)} sub-tasks.",
                    )
                )

    async def _judge(self, task: TaskRecord, state: StepState, progress: Progress) -> None:
        """A result was proposed: verify it against the success check, then finish or iterate."""
        result = state.result or ""
        if task.success_check:
            request = verify_prompt(
                task.success_check, result, state.evidence, progress.checkpoint["recent"]
            )
            try:
                verdict = await self._complete(task, request)
            except LLMError as exc:
                verdict = None
                log.warning("task %s: the check could not run: %s", task.id, exc)
            if verdict is not None:
                progress.tokens_used += (
                    verdict.usage.prompt_tokens + verdict.usage.completion_tokens
                )
                passed, reason = read_verdict(verdict.content)
                progress.events.append(("check", f"{'PASS' if passed else 'FAIL'}: {reason}"))
                if not passed:
                    progress.checkpoint["recent"].append(
                        f"Check after step {progress.step}: FAIL - {cut(reason, 500)}. "
                        "Improve the result and finish again."
                    )
                    if not task.quiet and task.parent_id is None:
                        progress.messages.append(
                            to_chat(
                                task,
                                f"check:{progress.step}",
                                f"🔁 Task #{task.id}: the check did not pass yet "
                                f"({cut(reason, 300)}); working on it.",
                            )
                        )
                    return
        progress.status, progress.result = SUCCEEDED, result
        progress.events.append(("succeeded", cut(result, 2_000)))
        progress.messages.extend(_final(task, SUCCEEDED, result))

    async def save(
        self, task: TaskRecord, progress: Progress, subtasks: list[str]
    ) -> TaskRecord | None:
        saved = await self._store.checkpoint(
            task.id,
            progress,
            subtasks=subtasks,
            subtask_budget=self.subtask_budget(),
            at_step=task.step,
        )
        if progress.messages:
            self._deliverer.notify()
        if not saved:
            # Paused or cancelled meanwhile, or this step was stored already (a queued
            # step run twice): this run's work is dropped.
            return None
        return replace(
            task,
            step=progress.step,
            tokens_used=progress.tokens_used,
            seconds_used=progress.seconds_used,
            plan=progress.plan,
            notes=progress.notes,
            checkpoint=progress.checkpoint,
            status=progress.status,
            question=progress.question,
            result=progress.result,
        )

    async def wrap_up(self, task: TaskRecord, reason: str) -> None:
        """The budget is spent: ask once more, without tools, for the best partial result."""
        zone = ZoneInfo(self._default_timezone)
        tools = self._registry(control_tools(StepState("", "", True, 0), 1))
        note = f"## Budget used up\n{reason}. Reply now with the best partial result: what is done and what is not."
        request = build_step_prompt(
            self._name, self._view(task, zone), tools.schemas(), self.limits.context_tokens, note
        )
        try:
            completion = await self._complete(
                task, request, tools=tools.schemas(), tool_choice="none"
            )
            partial, used = completion.content, completion.usage.prompt_tokens
        except LLMError:
            partial, used = task.notes or "(nothing usable was produced)", 0
        text = f"I stopped because {reason}. Partial result:\n\n{cut(partial, RESULT_CHARS)}"
        progress = Progress(
            step=task.step,
            tokens_used=task.tokens_used + used,
            seconds_used=task.seconds_used,
            plan=task.plan,
            notes=task.notes,
            checkpoint=task.checkpoint,
            status=FAILED,
            result=text,
            events=[("budget", reason)],
            messages=_final(task, FAILED, text),
        )
        await self.save(task, progress, [])

    async def fail(self, task_id: int, why: str) -> None:
        task = await self._store.get(task_id)
        if task is None or task.status != RUNNING:
            return
        text = f"I could not finish: {why}\n\nNotes so far:\n{task.notes or '(none)'}"
        progress = Progress(
            step=task.step,
            tokens_used=task.tokens_used,
            seconds_used=task.seconds_used,
            plan=task.plan,
            notes=task.notes,
            checkpoint=task.checkpoint,
            status=FAILED,
            result=text,
            events=[("failed", why)],
            messages=_final(task, FAILED, text),
        )
        await self.save(task, progress, [])


def _final(task: TaskRecord, status: str, text: str) -> list[OutgoingMessage]:
    """The result message; sub-tasks report to their parent, not to the chat."""
    return [] if task.parent_id is not None else [result_message(task, status, text)]
