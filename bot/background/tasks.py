"""Background tasks as people and tools see them: start, list, show, pause, resume,
cancel, answer. Works in every process; the leader's TaskRunner does the steps.

Answers to a task's question: `/answer ID TEXT` always works; besides, while a task
of the conversation waits, every turn's volatile note tells the model so (see
`WaitingTasks`), and the model passes the person's reply on with `answer_task`.
"""

from __future__ import annotations

from bot.background.context import cut
from bot.background.progress import ICONS, duration, status_line, to_chat, tokens
from bot.background.runner import TaskLimits, TaskRunner
from bot.chat.delivery import Deliverer
from bot.safety.untrusted import mark_untrusted
from memory.conversations import ConversationRecord, UserRecord
from memory.tasks import (
    CANCELLED,
    FINISHED,
    PAUSED,
    QUEUED,
    RUNNING,
    UNFINISHED,
    WAITING,
    Budget,
    TaskRecord,
    TaskStore,
)


class TaskInputError(ValueError):
    """The request cannot become a task; the message says why and what works."""


class Tasks:
    def __init__(
        self,
        store: TaskStore,
        runner: TaskRunner,
        deliverer: Deliverer,
        limits: TaskLimits,
    ) -> None:
        self.store = store
        self._runner = runner
        self._deliverer = deliverer
        self.limits = limits

    def wake(self) -> None:
        """New work was queued: let the runner look now."""
        self._runner.wake()

    def budget_changed(self, user_id: int) -> None:
        """An owner changed someone's token budget: tasks paused for it may go on."""
        self._runner.recheck_budgets()

    def budget(self, max_steps: int | None = None) -> Budget:
        steps = self.limits.max_steps if max_steps is None else max_steps
        if steps < 1:
            raise TaskInputError("max_steps must be at least 1")
        return Budget(
            min(steps, self.limits.max_steps), self.limits.max_tokens, self.limits.max_seconds
        )

    async def start(
        self,
        user: UserRecord,
        conversation: ConversationRecord,
        goal: str,
        *,
        success_check: str = "",
        max_steps: int | None = None,
    ) -> TaskRecord:
        goal, success_check = goal.strip(), success_check.strip()
        if not goal:
            raise TaskInputError("the goal is empty; say what the task should achieve")
        limit = self.limits.goal_chars
        if len(goal) > limit or len(success_check) > limit:
            size = max(len(goal), len(success_check))
            raise TaskInputError(
                f"the goal is too long ({size:,} characters; the limit is {limit:,}). Put the "
                "material in a message or file and give the task a short goal that refers to it."
            )
        task = await self.store.create(
            user_id=user.id,
            conversation_id=conversation.id,
            goal=goal,
            success_check=success_check,
            budget=self.budget(max_steps),
        )
        if task is None:  # pragma: no cover - only tasks with an origin can collide
            raise TaskInputError("that task exists already")
        self._runner.wake()
        return task

    async def owned(self, user_id: int, task_id: int) -> TaskRecord | None:
        task = await self.store.get(task_id)
        return task if task is not None and task.user_id == user_id else None

    async def pause(self, user_id: int, task_id: int) -> str:
        task = await self.store.move(
            task_id, (QUEUED, RUNNING), PAUSED, event="paused", user_id=user_id
        )
        if task is None:
            return await self._why_not(user_id, task_id, "paused")
        self._runner.interrupt(task_id)
        return f"⏸ Task #{task_id} is paused at step {task.step}. /resume {task_id} continues it."

    async def resume(self, user_id: int, task_id: int) -> str:
        task = await self.store.move(task_id, (PAUSED,), QUEUED, event="resumed", user_id=user_id)
        if task is None:
            return await self._why_not(user_id, task_id, "resumed")
        self._runner.wake()
        return f"▶️ Task #{task_id} continues from step {task.step}."

    async def cancel(self, user_id: int | None, task_id: int) -> str:
        found = await self.store.get(task_id)
        if found is None or (user_id is not None and found.user_id != user_id):
            return f"There is no task #{task_id} of yours."
        notice = to_chat(found, "result", f"🛑 Task #{task_id} was cancelled.", in_history=True)
        task = await self.store.move(
            task_id, UNFINISHED, CANCELLED, event="cancelled", user_id=user_id, messages=[notice]
        )
        if task is None:
            return f"Task #{task_id} had already {found.status}."
        self._runner.interrupt(task_id)
        self._deliverer.notify()
        return f"Cancelling task #{task_id}."

    async def answer(self, user_id: int, task_id: int, text: str) -> str:
        text = text.strip()
        if not text:
            return f"Give the answer after the task number: /answer {task_id} <your answer>"
        found = await self.owned(user_id, task_id)
        if found is None:
            return f"There is no task #{task_id} of yours."
        if found.status != WAITING:
            return f"Task #{task_id} is not waiting for an answer (it is {found.status})."
        checkpoint = {
            **found.checkpoint,
            "answer": {"question": found.question or "", "answer": cut(text, 4_000)},
        }
        task = await self.store.move(
            task_id,
            (WAITING,),
            QUEUED,
            event="answered",
            text=cut(text, 500),
            user_id=user_id,
            checkpoint=checkpoint,
        )
        if task is None:
            return f"Task #{task_id} is not waiting for an answer any more."
        self._runner.wake()
        return f"Thanks, task #{task_id} continues with your answer."

    async def _why_not(self, user_id: int, task_id: int, verb: str) -> str:
        task = await self.owned(user_id, task_id)
        if task is None:
            return f"There is no task #{task_id} of yours."
        return f"Task #{task_id} is {task.status.replace('_', ' ')}, so it cannot be {verb}."

    async def describe(self, user_id: int, task_id: int) -> str:
        """`/task ID`: status, budget and the latest events."""
        task = await self.owned(user_id, task_id)
        if task is None:
            return f"There is no task #{task_id} of yours."
        lines = [status_line(task), f"Goal: {cut(task.goal, 500)}"]
        if task.success_check:
            lines.append(f"Check: {cut(task.success_check, 300)}")
        if task.plan:
            lines.append(f"Plan:\n{cut(task.plan, 1_000)}")
        if task.question and task.status == WAITING:
            lines.append(f"Waiting for your answer: {task.question} (/answer {task.id} …)")
        events = await self.store.events(task.id, limit=8)
        if events:
            lines.append("Recent events:")
            lines.extend(f"- step {e.step} {e.kind}: {cut(e.text, 160)}" for e in events)
        if task.result and task.status in FINISHED:
            lines.append(f"Result:\n{cut(task.result, 2_000)}")
        return "\n".join(lines)

    async def overview(self, user_id: int) -> str:
        """`/tasks`: the person's tasks, unfinished first."""
        tasks = await self.store.find(user_id=user_id, top_level=True, limit=30)
        if not tasks:
            return "You have no tasks. Start one with /task <goal>."
        tasks.sort(key=lambda t: (t.status in FINISHED, -t.id))
        return "\n".join(
            f"{ICONS.get(t.status, '')} #{t.id} {t.status.replace('_', ' ')} · step {t.step} · "
            f"{duration(t.seconds_used)} · {tokens(t.tokens_used)} tok · {cut(t.goal, 60)}"
            for t in tasks
        )


class WaitingTasks:
    """A ContextSource: tells the model which tasks of this conversation wait for an answer."""

    def __init__(self, store: TaskStore) -> None:
        self._store = store

    async def background(self, user: UserRecord, conversation: ConversationRecord) -> str:
        return ""

    async def recall(
        self, user: UserRecord, conversation: ConversationRecord, query: str, *, private: bool
    ) -> str:
        waiting = await self._store.questions(user.id, conversation.id)
        if not waiting:
            return ""
        lines = []
        for task_id, question, untrusted in waiting:
            line = f"Task #{task_id} waits for the person's answer to: {cut(question, 300)}"
            if untrusted:  # asked by a task that read outside content
                line = mark_untrusted(f"question of task #{task_id}", line)
            lines.append(line)
        return "\n".join(
            [
                *lines,
                "If the person's message answers it, pass the answer on with answer_task.",
            ]
        )
