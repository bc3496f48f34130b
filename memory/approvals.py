"""Pending approvals in SQL: tool calls that wait for a person's yes or no.

The waiting itself happens in the replica whose turn asked (bot/safety/approvals.py);
these rows are the record of what was asked and decided, let any replica answer (a
guarded UPDATE: the first answer wins, whoever gives it) and let a restart expire what
was left. Each row names the replica whose turn waits (`owner`), so a replica starting
expires only what waited in a process that is gone (memory/replicas.py), never a live
replica's question, and a replica answering finds only questions a live one waits on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import Approval, table
from memory.db.sqltypes import utcnow
from memory.replicas import held_elsewhere, taken_over

WAITING = "waiting"


@dataclass(frozen=True)
class ApprovalRecord:
    id: int
    conversation_id: int
    user_id: int
    tool_name: str
    arguments: str
    summary: str
    reason: str
    status: str
    created_at: datetime
    decided_by: str | None = None  # `platform:id` of who answered, or "system"
    decided_at: datetime | None = None


_approvals = table(Approval)


class ApprovalStore:
    def __init__(self, engine: AsyncEngine, owner: str | None = None) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._owner = owner  # this process's replica id

    async def create(
        self,
        conversation_id: int,
        user_id: int,
        tool_name: str,
        arguments: str,
        summary: str,
        reason: str,
    ) -> ApprovalRecord:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            row = Approval(
                conversation_id=conversation_id,
                user_id=user_id,
                tool_name=tool_name,
                arguments=arguments,
                summary=summary,
                reason=reason,
                status=WAITING,
                created_at=now,
                owner=self._owner,
            )
            session.add(row)
            await session.flush()
            return ApprovalRecord(
                row.id,
                conversation_id,
                user_id,
                tool_name,
                arguments,
                summary,
                reason,
                WAITING,
                now,
            )

    async def settle(self, approval_id: int, status: str, by: str | None = None) -> bool:
        """Record the outcome ("approved", "denied", "expired", "cancelled") of a waiting
        approval and who gave it; False if it was settled before (by anyone, anywhere)."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Approval)
                .where(Approval.id == approval_id, Approval.status == WAITING)
                .values(status=status, decided_at=utcnow(), decided_by=by)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def waiting_elsewhere(
        self, *, conversation_id: int | None = None, user_id: int | None = None
    ) -> list[ApprovalRecord]:
        """Questions that wait in another live replica's turn, in this conversation or for
        this person, oldest first (this process's own it knows without asking)."""
        query = select(Approval).where(
            Approval.status == WAITING,
            held_elsewhere(_approvals.c.owner, now=utcnow(), me=self._owner),
        )
        if conversation_id is not None:
            query = query.where(Approval.conversation_id == conversation_id)
        if user_id is not None:
            query = query.where(Approval.user_id == user_id)
        async with self._sessions() as session:
            rows = (await session.execute(query.order_by(Approval.id))).scalars()
            return [_record(row) for row in rows]

    async def decided(self, approval_ids: list[int]) -> list[ApprovalRecord]:
        """Those of these approvals that are no longer waiting (answered anywhere)."""
        if not approval_ids:
            return []
        query = select(Approval).where(Approval.id.in_(approval_ids), Approval.status != WAITING)
        async with self._sessions() as session:
            return [_record(row) for row in (await session.execute(query)).scalars()]

    async def expire_waiting(self, before: datetime) -> int:
        """Mark approvals that still wait but whose process is gone as expired (nothing
        waits for them any more): those of a replica that stopped or stopped beating, and
        those of an unknown process asked before `before` (this process's start). A live
        replica's questions are left waiting."""
        now = utcnow()
        orphaned = taken_over(
            _approvals.c.owner, _approvals.c.created_at, now=now, me=self._owner, before=before
        )
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(_approvals)
                .where(_approvals.c.status == WAITING, orphaned)
                .values(status="expired", decided_at=now)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def get(self, approval_id: int) -> ApprovalRecord | None:
        async with self._sessions() as session:
            row = await session.get(Approval, approval_id)
            return None if row is None else _record(row)


def _record(row: Approval) -> ApprovalRecord:
    return ApprovalRecord(
        row.id,
        row.conversation_id,
        row.user_id,
        row.tool_name,
        row.arguments,
        row.summary,
        row.reason,
        row.status,
        row.created_at,
        row.decided_by,
        row.decided_at,
    )
