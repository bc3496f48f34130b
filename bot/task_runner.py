"""The task runner: drives background tasks step by step (only in the leader process).

Each step is one model call plus its tool calls over a bounded context
(bot/task_context.py) and ends in a checkpoint; a restarted runner resumes every
`running` task from its last checkpoint. Sub-tasks run inside their parent's
worker under CLAWLING_SUBTASK_CONCURRENCY, and the parent collects every result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.agent import run_tool_calls
from bot.channels import ChatRef
from bot.delivery import Deliverer
from bot.llm import LLM, CallMeta, Completion, LLMError
from bot.outbox import Outbox
from bot.prompt import Chat, time_note
from bot.task_context import (
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
from bot.task_progress import StatusMessage, result_message, status_line, to_chat
from bot.tools import Tool, ToolContext, ToolRegistry
from memory.conversations import ConversationRecord, ConversationStore, UserRecord
from memory.deliveries import OutgoingMessage
from memory.tasks import (
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    WAITING,
    Budget,
    Progress,
    TaskRecord,
    TaskStore,
)

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LLM_ATTEMPTS = 3


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


class TaskRunner:
    """A `Service` of the background leader (see bot/scheduler.py: Background)."""

    def __init__(
        self,
        store: TaskStore,
        users: ConversationStore,
        llm: LLM,
        tools: Sequence[Tool],
        outbox: Outbox,
        deliverer: Deliverer,
        *,
        limits: TaskLimits,
        assistant_name: str,
        now: Callable[[], datetime],
        default_timezone: str,
    ) -> None:
        self._store = store
        self._users = users
        self._llm = llm
        self._base_tools = list(tools)
        self._outbox = outbox
        self._deliverer = deliverer
        self.limits = limits
        self._name = assistant_name
        self._now = now
        self._default_timezone = default_timezone
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def interrupt(self, task_id: int) -> None:
        """Stop the local worker of a task at once (after /pause or /cancel)."""
        worker = self._workers.get(task_id)
        if worker is not None:
            worker.cancel()

    async def start(self) -> None:
        self._stopping = False
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

    async def _claim_loop(self) -> None:
        while True:
            try:
                free = self.limits.concurrency - len(self._workers)
                for task_id in await self._store.claim_queued(free, self.limits.per_user):
                    self._launch(task_id)
            except Exception:
                log.exception("claiming queued tasks failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()

    def _launch(self, task_id: int) -> None:
        worker = asyncio.create_task(self._work(task_id))
        self._workers[task_id] = worker
        worker.add_done_callback(lambda _: self._workers.pop(task_id, None))

    async def _work(self, task_id: int) -> None:
        try:
            await self._drive(task_id)
        except asyncio.CancelledError:
            if self._stopping:
                raise  # shutting down: the task resumes on the next start
            log.info("task %s interrupted (paused or cancelled)", task_id)
            await self._show_final(task_id)
        except Exception:
            log.exception("task %s failed on our side", task_id)
            await self._fail(task_id, "it failed on my side; the details were logged.")
        finally:
            self.wake()  # a slot is free

    async def _drive(self, task_id: int) -> None:
        """Run one task until it finishes, waits, or is stopped from outside."""
        task = await self._store.get(task_id)
        if task is None:
            return
        status = self._status_message(task)
        user = await self._users.get_user(task.user_id) or UserRecord(task.user_id, "", None)
        conversation = await self._users.get_conversation(task.conversation_id)
        seen: Counter[tuple[str, str]] = Counter()
        while task is not None and task.status == RUNNING:
            if task.checkpoint.get("waiting_children"):
                task = await self._run_children(task)
                continue
            reason = self._exhausted(task)
            if reason:
                await self._wrap_up(task, reason)
                break
            if status is not None:
                await status.show(status_line(task, task.checkpoint.get("doing", "")))
            task = await self._step(task, user, conversation, seen)
        if status is not None:
            await self._show_final(task_id, status)
        self._deliverer.notify()

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
        if task is None:
            return
        status = status or self._status_message(task)
        if status is not None:
            await status.show(status_line(task), force=True)

    def _subtask_budget(self) -> Budget:
        limits = self.limits
        return Budget(limits.max_steps, limits.max_tokens, limits.max_seconds)

    def _exhausted(self, task: TaskRecord) -> str:
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

    async def _step(
        self,
        task: TaskRecord,
        user: UserRecord,
        conversation: ConversationRecord | None,
        seen: Counter[tuple[str, str]],
    ) -> TaskRecord | None:
        started = time.monotonic()
        zone = ZoneInfo(user.timezone or self._default_timezone)
        children = await self._store.count_children(task.id) if task.parent_id is None else 0
        state = StepState(
            plan=task.plan,
            notes=task.notes,
            can_ask=task.parent_id is None,
            subtask_room=max(0, self.limits.max_subtasks - children),
        )
        tools = ToolRegistry([*self._base_tools, *control_tools(state, self.limits.goal_chars)])
        request = build_step_prompt(
            self._name, self._view(task, zone), tools.schemas(), self.limits.context_tokens
        )
        try:
            completion = await self._complete(task, request, tools=tools.schemas())
        except LLMError as exc:
            await self._fail(task.id, f"the model service kept failing ({exc.user_message})")
            return None
        step = task.step + 1
        used = completion.usage.prompt_tokens + completion.usage.completion_tokens
        calls: list[tuple[str, str, str]] = []
        if completion.tool_calls and conversation is not None:
            ctx = ToolContext(user=user, conversation=conversation, timezone=zone, now=self._now)
            results = await run_tool_calls(tools, ctx, completion.tool_calls, seen)
            calls = [
                (c.name, dump_arguments(c.arguments), r.content)
                for c, r in zip(completion.tool_calls, results, strict=True)
            ]
        elif not completion.tool_calls:
            state.result = cut(completion.content.strip(), 30_000)  # a plain answer is the result
        checkpoint = dict(task.checkpoint)
        recent = [*checkpoint.get("recent", []), describe_step(step, completion.content, calls)]
        answer = checkpoint.pop("answer", None)  # shown in this step; now a step result
        if answer:
            recent.insert(
                -1, f"The person answered {answer['question']!r}: {cut(answer['answer'], 1_000)}"
            )
        checkpoint["recent"] = recent[-8:]
        checkpoint["doing"] = ", ".join(dict.fromkeys(c[0] for c in calls)) or "thinking"
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
        return await self._save(task, progress, state.subtasks)

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

    async def _save(
        self, task: TaskRecord, progress: Progress, subtasks: list[str]
    ) -> TaskRecord | None:
        saved = await self._store.checkpoint(
            task.id, progress, subtasks=subtasks, subtask_budget=self._subtask_budget()
        )
        if progress.messages:
            self._deliverer.notify()
        if not saved:
            return None  # paused or cancelled meanwhile: this step's work is dropped
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

    async def _run_children(self, task: TaskRecord) -> TaskRecord | None:
        children = await self._store.find(parent_id=task.id, limit=10_000)
        gate = asyncio.Semaphore(self.limits.subtask_concurrency)

        async def run(child: TaskRecord) -> None:
            async with gate:
                if child.status == QUEUED:
                    await self._store.move(child.id, (QUEUED,), RUNNING, event="started")
                await self._drive(child.id)

        await asyncio.gather(*(run(c) for c in children if c.status not in FINISHED))
        children = sorted(
            await self._store.find(parent_id=task.id, limit=10_000), key=lambda c: c.id
        )
        collected = [
            {"id": c.id, "goal": c.goal, "status": c.status, "result": c.result or ""}
            for c in children
        ]
        checkpoint = {**task.checkpoint, "subtasks": collected, "waiting_children": False}
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
        return await self._save(task, progress, [])

    async def _wrap_up(self, task: TaskRecord, reason: str) -> None:
        """The budget is spent: ask once more, without tools, for the best partial result."""
        zone = ZoneInfo(self._default_timezone)
        tools = ToolRegistry([*self._base_tools, *control_tools(StepState("", "", True, 0), 1)])
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
        text = f"I stopped because {reason}. Partial result:\n\n{cut(partial, 30_000)}"
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
        await self._save(task, progress, [])

    async def _fail(self, task_id: int, why: str) -> None:
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
        await self._save(task, progress, [])


def _final(task: TaskRecord, status: str, text: str) -> list[OutgoingMessage]:
    """The result message; sub-tasks report to their parent, not to the chat."""
    return [] if task.parent_id is not None else [result_message(task, status, text)]
