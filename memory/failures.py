"""Failed model calls over a recent window, for the dashboard's Health page: how many of
the calls since then failed, and the latest failure (its `llm_calls.error` is the
operator's account of it, bot/llm/failures.py, never a conversation's content)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db import reading
from memory.db.models import LLMCall


@dataclass(frozen=True)
class CallFailures:
    calls: int  # every model call since then
    failed: int
    last_error: str | None = None
    last_model: str | None = None
    last_at: datetime | None = None


class FailureStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def model_calls_since(self, since: datetime) -> CallFailures:
        """The calls since `since` (indexed by time), and the newest failure among them."""
        counts = select(
            func.count(), func.coalesce(func.sum(case((LLMCall.ok.is_(False), 1), else_=0)), 0)
        ).where(LLMCall.created_at >= since)
        latest = (
            select(LLMCall.error, LLMCall.model, LLMCall.created_at)
            .where(LLMCall.created_at >= since, LLMCall.ok.is_(False))
            .order_by(LLMCall.id.desc())
            .limit(1)
        )
        async with reading(self._engine) as connection:
            calls, failed = (await connection.execute(counts)).one()
            last = (await connection.execute(latest)).first() if failed else None
        if last is None:
            return CallFailures(int(calls), int(failed))
        return CallFailures(int(calls), int(failed), last[0], last[1], last[2])
