"""Pending approvals in SQL: tool calls that wait for a person's yes or no.

The waiting itself happens in memory (bot/safety/approvals.py); these rows are the
record of what was asked and decided, and let a restart expire what was left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import Approval
from memory.db.sqltypes import utcnow

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


class ApprovalStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

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
        """Mark approvals asked before `before` that still wait as expired (their process
        stopped, so nothing waits for them any more)."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Approval)
                .where(Approval.status == WAITING, Approval.created_at < before)
                .values(status="expired", decided_at=utcnow())
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
