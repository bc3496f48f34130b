"""Pending approvals in SQL: tool calls that wait for a person's yes or no.

The waiting itself happens in memory (bot/safety/approvals.py); these rows are the
record of what was asked and decided, and let a restart expire what was left. Each row
names the replica whose turn waits (`owner`), so a replica starting expires only what
waited in a process that is gone (memory/replicas.py), never a live replica's question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import Approval, table
from memory.db.sqltypes import utcnow
from memory.replicas import taken_over

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

    async def settle(self, approval_id: int, status: str) -> bool:
        """Record the outcome ("approved", "denied", "expired", "cancelled") of a waiting
        approval; False if it was settled before."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Approval)
                .where(Approval.id == approval_id, Approval.status == WAITING)
                .values(status=status, decided_at=utcnow())
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

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
            if row is None:
                return None
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
            )
