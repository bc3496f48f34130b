"""The job store: reminders, recurring prompts, standing instructions and heartbeats.

APScheduler keeps only the timer; this table is what a job means. Firing a job
and queueing what it says happen in one transaction (see memory/deliveries.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import Conversation, Job
from memory.db.sqltypes import utcnow
from memory.deliveries import OutgoingMessage, add_deliveries

ACTIVE = "active"


@dataclass(frozen=True)
class JobRecord:
    id: int
    user_id: int
    conversation_id: int
    kind: str
    text: str
    schedule: dict[str, Any]
    description: str
    status: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    runs: int
    created_at: datetime
    channel: str
    chat_id: str
    thread_id: str


def _record(row: Job, conversation: Conversation) -> JobRecord:
    return JobRecord(
        id=row.id,
        user_id=row.user_id,
        conversation_id=row.conversation_id,
        kind=row.kind,
        text=row.text,
        schedule=dict(row.schedule),
        description=row.description,
        status=row.status,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        runs=row.runs,
        created_at=row.created_at,
        channel=conversation.channel,
        chat_id=conversation.chat_id,
        thread_id=conversation.thread_id,
    )


def _with_chat() -> Select[Job, Conversation]:
    return select(Job, Conversation).join(Conversation, Conversation.id == Job.conversation_id)


class JobStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def create(
        self,
        *,
        user_id: int,
        conversation_id: int,
        kind: str,
        text: str,
        schedule: dict[str, Any],
        description: str,
        next_run_at: datetime | None,
    ) -> JobRecord:
        row = Job(
            user_id=user_id,
            conversation_id=conversation_id,
            kind=kind,
            text=text,
            schedule=schedule,
            description=description,
            status=ACTIVE,
            next_run_at=next_run_at,
            runs=0,
            created_at=utcnow(),
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
            await session.flush()
            job_id = row.id
        found = await self.get(job_id)
        if found is None:  # pragma: no cover - we just wrote it
            raise RuntimeError(f"job {job_id} vanished")
        return found

    async def get(self, job_id: int) -> JobRecord | None:
        async with self._sessions() as session:
            row = (await session.execute(_with_chat().where(Job.id == job_id))).first()
            return None if row is None else _record(row[0], row[1])

    async def find(
        self,
        *,
        user_id: int | None = None,
        statuses: Sequence[str] = (ACTIVE,),
        kinds: Sequence[str] = (),
        limit: int = 200,
    ) -> list[JobRecord]:
        query = _with_chat().order_by(Job.id).limit(limit)
        if user_id is not None:
            query = query.where(Job.user_id == user_id)
        if statuses:
            query = query.where(Job.status.in_(statuses))
        if kinds:
            query = query.where(Job.kind.in_(kinds))
        async with self._sessions() as session:
            return [_record(row[0], row[1]) for row in (await session.execute(query)).all()]

    async def active_ids(self) -> set[int]:
        """Ids of jobs APScheduler should be timing (everything but standing instructions)."""
        query = select(Job.id).where(Job.status == ACTIVE, Job.kind != "instruction")
        async with self._sessions() as session:
            return set((await session.execute(query)).scalars())

    async def set_status(
        self, job_id: int, status: str, *, user_id: int | None = None
    ) -> JobRecord | None:
        """Change an active job's status; None when it is not active (or not theirs)."""
        query = update(Job).where(Job.id == job_id, Job.status == ACTIVE).values(status=status)
        if user_id is not None:
            query = query.where(Job.user_id == user_id)
        async with self._sessions() as session, session.begin():
            changed = (await session.execute(query)).rowcount  # type: ignore[attr-defined]
        return await self.get(job_id) if changed else None

    async def record_fire(
        self,
        job_id: int,
        *,
        fired_at: datetime,
        next_run_at: datetime | None,
        messages: Sequence[OutgoingMessage] = (),
        status: str = ACTIVE,
    ) -> None:
        """One run (or one reported miss) of a job and what it says, in one transaction."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    runs=Job.runs + 1,
                    last_run_at=fired_at,
                    next_run_at=next_run_at,
                    status=status,
                )
            )
            await add_deliveries(session, messages)

    async def heartbeat_of(self, user_id: int) -> JobRecord | None:
        found = await self.find(user_id=user_id, kinds=("heartbeat",), limit=1)
        return found[0] if found else None

    async def due_instructions(self, user_id: int, now: datetime) -> list[JobRecord]:
        query = _with_chat().where(
            Job.user_id == user_id,
            Job.kind == "instruction",
            Job.status == ACTIVE,
            Job.next_run_at <= now,
        )
        async with self._sessions() as session:
            return [
                _record(row[0], row[1])
                for row in (await session.execute(query.order_by(Job.id))).all()
            ]

    async def set_next_runs(
        self, next_runs: dict[int, datetime | None], fired_at: datetime
    ) -> None:
        async with self._sessions() as session, session.begin():
            for job_id, next_run_at in next_runs.items():
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id)
                    .values(next_run_at=next_run_at, last_run_at=fired_at, runs=Job.runs + 1)
                )
