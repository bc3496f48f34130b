"""The task store: long-horizon tasks and their append-only event log.

Every step ends in `checkpoint()`, which only succeeds while the task is still
`running`: a /pause or /cancel from any process wins over the step in flight.
Status changes and the messages they cause are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory.db import reading
from memory.db.models import Conversation, Task, TaskEvent, table
from memory.db.sqltypes import utcnow
from memory.deliveries import OutgoingMessage, add_deliveries

QUEUED = "queued"
RUNNING = "running"
WAITING = "waiting_for_user"
PAUSED = "paused"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
UNFINISHED = (QUEUED, RUNNING, WAITING, PAUSED)
# Checkpoint key: where the untrusted content a task has read came from (kept for the
# task's life, handed to its sub-tasks; see bot/safety/gate.py).
UNTRUSTED = "untrusted"


@dataclass(frozen=True)
class Budget:
    max_steps: int
    max_tokens: int
    max_seconds: int


@dataclass(frozen=True)
class TaskRecord:
    id: int
    user_id: int
    conversation_id: int
    parent_id: int | None
    goal: str
    success_check: str
    plan: str
    notes: str
    status: str
    quiet: bool
    step: int
    budget: Budget
    tokens_used: int
    seconds_used: float
    checkpoint: dict[str, Any]
    question: str | None
    result: str | None
    status_message_id: str | None
    created_at: datetime
    updated_at: datetime
    channel: str
    chat_id: str
    thread_id: str
    origin: str | None = None


@dataclass(frozen=True)
class TaskEventRecord:
    id: int
    task_id: int
    step: int
    kind: str
    text: str
    created_at: datetime


@dataclass
class Progress:
    """What one step changed, written by `checkpoint()`."""

    step: int
    tokens_used: int
    seconds_used: float
    plan: str
    notes: str
    checkpoint: dict[str, Any]
    status: str = RUNNING
    question: str | None = None
    result: str | None = None
    events: list[tuple[str, str]] = field(default_factory=list)
    messages: list[OutgoingMessage] = field(default_factory=list)


def _record(row: Task, conversation: Conversation) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        parent_id=row.parent_id,
        goal=row.goal,
        success_check=row.success_check,
        plan=row.plan,
        notes=row.notes,
        status=row.status,
        quiet=row.quiet,
        step=row.step,
        budget=Budget(row.max_steps, row.max_tokens, row.max_seconds),
        tokens_used=row.tokens_used,
        seconds_used=row.seconds_used,
        checkpoint=dict(row.checkpoint or {}),
        question=row.question,
        result=row.result,
        status_message_id=row.status_message_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        channel=conversation.channel,
        chat_id=conversation.chat_id,
        thread_id=conversation.thread_id,
        origin=row.origin,
    )


def _with_chat() -> Select[Task, Conversation]:
    return select(Task, Conversation).join(Conversation, Conversation.id == Task.conversation_id)


_tasks = table(Task)
# Asked every turn (bot/background/tasks.py WaitingTasks); built once.
_QUESTIONS = (
    select(_tasks.c.id, _tasks.c.question, _tasks.c.checkpoint)
    .where(
        _tasks.c.user_id == bindparam("user_id"),
        _tasks.c.conversation_id == bindparam("conversation_id"),
        _tasks.c.status == WAITING,
    )
    .order_by(_tasks.c.id.desc())
    .limit(5)
)


class TaskStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def questions(self, user_id: int, conversation_id: int) -> list[tuple[int, str, bool]]:
        """(id, question, untrusted) of the person's tasks in this conversation waiting for
        an answer; `untrusted`: the task has read outside content (see UNTRUSTED)."""
        params = {"user_id": user_id, "conversation_id": conversation_id}
        async with reading(self._engine) as connection:
            rows = (await connection.execute(_QUESTIONS, params)).all()
        return [(row[0], row[1] or "", bool((row[2] or {}).get(UNTRUSTED))) for row in rows]

    async def create(
        self,
        *,
        user_id: int,
        conversation_id: int,
        goal: str,
        budget: Budget,
        success_check: str = "",
        parent_id: int | None = None,
        quiet: bool = False,
        origin: str | None = None,
        checkpoint: dict[str, Any] | None = None,
    ) -> TaskRecord | None:
        """A new queued task; None when a task with this `origin` exists already."""
        now = utcnow()
        row = Task(
            user_id=user_id,
            conversation_id=conversation_id,
            parent_id=parent_id,
            origin=origin,
            goal=goal,
            success_check=success_check,
            plan="",
            notes="",
            status=QUEUED,
            quiet=quiet,
            step=0,
            max_steps=budget.max_steps,
            max_tokens=budget.max_tokens,
            max_seconds=budget.max_seconds,
            tokens_used=0,
            seconds_used=0.0,
            checkpoint=checkpoint or {},
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
                await session.flush()
                session.add(TaskEvent(task_id=row.id, step=0, kind="created", text=goal[:500]))
        except IntegrityError:
            return None
        return await self.get(row.id)

    async def get(self, task_id: int) -> TaskRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(_with_chat().where(Task.id == task_id))).first()
            return None if row is None else _record(row[0], row[1])

    async def find(
        self,
        *,
        user_id: int | None = None,
        statuses: Sequence[str] = (),
        parent_id: int | None = None,
        top_level: bool = False,
        before: int | None = None,
        limit: int = 100,
    ) -> list[TaskRecord]:
        """Tasks newest first; `before`: only those with a smaller id (the next page)."""
        query = _with_chat().order_by(Task.id.desc()).limit(limit)
        if before is not None:
            query = query.where(Task.id < before)
        if user_id is not None:
            query = query.where(Task.user_id == user_id)
        if statuses:
            query = query.where(Task.status.in_(statuses))
        if parent_id is not None:
            query = query.where(Task.parent_id == parent_id)
        if top_level:
            query = query.where(Task.parent_id.is_(None))
        async with self._sessions() as session:
            return [_record(row[0], row[1]) for row in (await session.execute(query)).all()]

    async def events(self, task_id: int, limit: int = 10) -> list[TaskEventRecord]:
        """The newest `limit` events, oldest first."""
        query = (
            select(TaskEvent)
            .where(TaskEvent.task_id == task_id)
            .order_by(TaskEvent.id.desc())
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).scalars().all()
        return [
            TaskEventRecord(r.id, r.task_id, r.step, r.kind, r.text, r.created_at)
            for r in reversed(rows)
        ]

    async def claim_queued(self, slots: int, per_user: int) -> list[int]:
        """Mark up to `slots` queued top-level tasks running, at most `per_user` per person."""
        if slots <= 0:
            return []
        claimed: list[int] = []
        async with self._sessions() as session, session.begin():
            running = dict(
                (
                    await session.execute(
                        select(Task.user_id, func.count())
                        .where(Task.status == RUNNING, Task.parent_id.is_(None))
                        .group_by(Task.user_id)
                    )
                ).all()
            )
            queued = await session.execute(
                select(Task.id, Task.user_id)
                .where(Task.status == QUEUED, Task.parent_id.is_(None))
                .order_by(Task.id)
                .limit(500)
            )
            for task_id, user_id in queued.all():
                if len(claimed) >= slots:
                    break
                if running.get(user_id, 0) >= per_user:
                    continue
                if await self._move(session, task_id, (QUEUED,), RUNNING, "started", ""):
                    running[user_id] = running.get(user_id, 0) + 1
                    claimed.append(task_id)
        return claimed

    async def checkpoint(
        self,
        task_id: int,
        progress: Progress,
        *,
        subtasks: Sequence[str] = (),
        subtask_budget: Budget | None = None,
        at_step: int | None = None,
    ) -> bool:
        """Store one step's outcome (and the sub-tasks it started, in the same transaction);
        False when the task stopped running meanwhile. `at_step`: the step the outcome was
        worked out from; when the task has moved past it (the same step, delivered twice
        by the queue, was stored already), nothing is written."""
        at = [] if at_step is None else [Task.step == at_step]
        async with self._sessions() as session, session.begin():
            changed = await session.execute(
                update(Task)
                .where(Task.id == task_id, Task.status == RUNNING, *at)
                .values(
                    step=progress.step,
                    tokens_used=progress.tokens_used,
                    seconds_used=progress.seconds_used,
                    plan=progress.plan,
                    notes=progress.notes,
                    checkpoint=progress.checkpoint,
                    status=progress.status,
                    question=progress.question,
                    result=progress.result,
                    updated_at=utcnow(),
                )
            )
            if not changed.rowcount:  # type: ignore[attr-defined]
                return False  # nothing was written in this transaction
            session.add_all(
                TaskEvent(task_id=task_id, step=progress.step, kind=kind, text=text)
                for kind, text in progress.events
            )
            await add_deliveries(session, progress.messages)
            if subtasks:
                await self._add_children(session, task_id, subtasks, subtask_budget)
        return True

    async def _add_children(
        self, session: AsyncSession, task_id: int, goals: Sequence[str], budget: Budget | None
    ) -> None:
        parent = await session.get(Task, task_id)
        if parent is None:  # pragma: no cover - checked by the caller's update
            return
        budget = budget or Budget(parent.max_steps, parent.max_tokens, parent.max_seconds)
        read = (parent.checkpoint or {}).get(UNTRUSTED)
        inherited: dict[str, Any] = {UNTRUSTED: list(read)} if read else {}
        now = utcnow()
        for goal in goals:
            child = Task(
                user_id=parent.user_id,
                conversation_id=parent.conversation_id,
                parent_id=task_id,
                goal=goal,
                success_check="",
                plan="",
                notes="",
                status=QUEUED,
                quiet=True,
                step=0,
                max_steps=budget.max_steps,
                max_tokens=budget.max_tokens,
                max_seconds=budget.max_seconds,
                tokens_used=0,
                seconds_used=0.0,
                # What the parent read is in the goals it wrote: children start tainted.
                checkpoint=dict(inherited),
                created_at=now,
                updated_at=now,
            )
            session.add(child)
            await session.flush()
            session.add(TaskEvent(task_id=child.id, step=0, kind="created", text=goal[:500]))

    async def move(
        self,
        task_id: int,
        from_statuses: Sequence[str],
        to_status: str,
        *,
        event: str,
        text: str = "",
        messages: Sequence[OutgoingMessage] = (),
        user_id: int | None = None,
        checkpoint: dict[str, Any] | None = None,
    ) -> TaskRecord | None:
        """Change status if it is one of `from_statuses` (and the task is theirs)."""
        async with self._sessions() as session, session.begin():
            owner = select(Task.user_id).where(Task.id == task_id)
            found = (await session.execute(owner)).scalar()
            if found is None or (user_id is not None and found != user_id):
                return None
            extra: dict[str, Any] = {} if checkpoint is None else {"checkpoint": checkpoint}
            if not await self._move(session, task_id, from_statuses, to_status, event, text, extra):
                return None
            if to_status == CANCELLED:
                await self._cancel_children(session, task_id)
            await add_deliveries(session, messages)
        return await self.get(task_id)

    async def _cancel_children(self, session: AsyncSession, task_id: int) -> None:
        children = await session.execute(
            select(Task.id).where(Task.parent_id == task_id, Task.status.in_(UNFINISHED))
        )
        for child in children.scalars().all():
            await self._move(session, child, UNFINISHED, CANCELLED, "cancelled", "parent cancelled")

    @staticmethod
    async def _move(
        session: AsyncSession,
        task_id: int,
        from_statuses: Sequence[str],
        to_status: str,
        event: str,
        text: str,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        step = (await session.execute(select(Task.step).where(Task.id == task_id))).scalar()
        changed = await session.execute(
            update(Task)
            .where(Task.id == task_id, Task.status.in_(from_statuses))
            .values(status=to_status, updated_at=utcnow(), **(extra or {}))
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            return False
        session.add(TaskEvent(task_id=task_id, step=step or 0, kind=event, text=text))
        return True

    async def set_status_message(self, task_id: int, message_id: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Task).where(Task.id == task_id).values(status_message_id=message_id)
            )

    async def count_children(self, task_id: int) -> int:
        async with self._sessions() as session:
            query = select(func.count()).where(Task.parent_id == task_id)
            return int((await session.execute(query)).scalar_one())

    async def count_by_status(self) -> dict[str, int]:
        """How many tasks are in each status (for /metrics)."""
        async with self._sessions() as session:
            rows = await session.execute(select(Task.status, func.count()).group_by(Task.status))
            return {status: int(count) for status, count in rows.all()}
