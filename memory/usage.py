"""Model usage: one row per request to the model endpoint, and totals per person (in all,
by model, and day by day for the dashboard's charts).

A row is `estimated` when the endpoint reported no usage (some servers ignore
`stream_options`) and the client counted the tokens itself: still counted in totals and
quotas, and shown as an estimate.

A call made for a person with a budget first holds an estimate of its tokens
(`token_holds`, memory/quotas.py); its row replaces the hold in the same transaction
(`settle`), wherever the row is written — here, or in the agent's step
(memory/conversations.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from memory.db import reading, writing
from memory.db.models import LLMCall, TokenHold, table
from memory.db.sqltypes import utcnow


@dataclass(frozen=True)
class LLMCallRecord:
    purpose: str
    model: str
    ok: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    duration_ms: int = 0
    error: str | None = None
    conversation_id: int | None = None
    user_id: int | None = None
    estimated: bool = False
    hold_id: int | None = None  # the token hold this call's row replaces


@dataclass(frozen=True)
class ModelUsage:
    """One model's share of a person's usage (prices are per model)."""

    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class UsageTotals:
    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    by_model: dict[str, int] = field(default_factory=dict)
    estimated_calls: int = 0  # calls whose tokens were estimated, not reported
    models: tuple[ModelUsage, ...] = ()


@dataclass(frozen=True)
class DayUsage:
    """One day's tokens of a person: input split into cached and not, and output."""

    start: datetime  # the day's first instant (its midnight where the person lives)
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0

    @property
    def uncached_tokens(self) -> int:
        return max(self.prompt_tokens - self.cached_tokens, 0)


INSERT_LLM_CALL = insert(table(LLMCall))  # built once; also run inside a turn step
_holds = table(TokenHold)
DELETE_HOLD = delete(_holds).where(_holds.c.id == bindparam("hold"))


async def settle(connection: AsyncConnection, call: LLMCallRecord) -> None:
    """Write the call's row and drop the hold it replaces, in the caller's transaction."""
    await connection.execute(INSERT_LLM_CALL, llm_call_row(call))
    if call.hold_id is not None:
        await connection.execute(DELETE_HOLD, {"hold": call.hold_id})


def llm_call_row(call: LLMCallRecord) -> dict[str, Any]:
    """The parameters of INSERT_LLM_CALL for one call."""
    return {
        "conversation_id": call.conversation_id,
        "user_id": call.user_id,
        "purpose": call.purpose,
        "model": call.model,
        "ok": call.ok,
        "error": call.error,
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "cached_tokens": call.cached_tokens,
        "duration_ms": call.duration_ms,
        "estimated": call.estimated,
        "created_at": utcnow(),
    }


class UsageStore:
    """Records model calls (the LLM client's recorder) and sums them up (/usage)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_llm_call(self, call: LLMCallRecord) -> None:
        async with writing(self._engine) as connection:
            await settle(connection, call)

    async def tokens_since(self, user_id: int, since: datetime) -> int:
        """Prompt + completion tokens of the person's calls from `since` on (budgets)."""
        query = select(
            func.coalesce(func.sum(LLMCall.prompt_tokens + LLMCall.completion_tokens), 0)
        ).where(LLMCall.user_id == user_id, LLMCall.created_at >= since)
        async with reading(self._engine) as connection:
            return int((await connection.execute(query)).scalar_one())

    async def usage(self, user_id: int, since: datetime | None = None) -> UsageTotals:
        """Token totals of one user's model calls, optionally from `since` on."""
        query = (
            select(
                LLMCall.model,
                func.count(),
                func.sum(case((LLMCall.ok.is_(False), 1), else_=0)),
                func.coalesce(func.sum(LLMCall.prompt_tokens), 0),
                func.coalesce(func.sum(LLMCall.completion_tokens), 0),
                func.coalesce(func.sum(LLMCall.cached_tokens), 0),
                func.sum(case((LLMCall.estimated.is_(True), 1), else_=0)),
            )
            .where(LLMCall.user_id == user_id)
            .group_by(LLMCall.model)
        )
        if since is not None:
            query = query.where(LLMCall.created_at >= since)
        async with reading(self._engine) as connection:
            rows = (await connection.execute(query)).all()
        return UsageTotals(
            calls=sum(r[1] for r in rows),
            failed_calls=sum(int(r[2] or 0) for r in rows),
            prompt_tokens=sum(r[3] for r in rows),
            completion_tokens=sum(r[4] for r in rows),
            cached_tokens=sum(r[5] for r in rows),
            by_model={r[0]: r[3] + r[4] for r in rows},
            estimated_calls=sum(int(r[6] or 0) for r in rows),
            models=tuple(ModelUsage(r[0], r[3], r[4], r[5]) for r in rows),
        )

    async def per_day(self, user_id: int, bounds: Sequence[datetime]) -> list[DayUsage]:
        """The person's tokens per span between consecutive `bounds` (midnights in their time
        zone, oldest first: n + 1 bounds give n days, empty ones included).

        Days are told apart in SQL by comparing with the bounds (a CASE), not by the
        database's date functions: those know UTC, not the person's zone, and differ between
        SQLite and PostgreSQL. A few dozen comparisons a row cost nothing at this size.
        """
        if len(bounds) < 2:
            return []
        day = case(
            *((LLMCall.created_at < bound, index) for index, bound in enumerate(bounds[1:])),
            else_=len(bounds) - 1,
        )
        # Grouped outside: PostgreSQL cannot tell a CASE with bound values in GROUP BY
        # from the same CASE in the select list.
        calls = (
            select(
                day.label("day"),
                LLMCall.prompt_tokens,
                LLMCall.cached_tokens,
                LLMCall.completion_tokens,
            )
            .where(
                LLMCall.user_id == user_id,
                LLMCall.created_at >= bounds[0],
                LLMCall.created_at < bounds[-1],
            )
            .subquery()
        )
        query = select(
            calls.c.day,
            func.sum(calls.c.prompt_tokens),
            func.sum(calls.c.cached_tokens),
            func.sum(calls.c.completion_tokens),
        ).group_by(calls.c.day)
        async with reading(self._engine) as connection:
            rows = {int(r[0]): r for r in (await connection.execute(query)).all()}
        return [
            DayUsage(start, *(int(rows[i][k] or 0) for k in (1, 2, 3)))
            if i in rows
            else DayUsage(start)
            for i, start in enumerate(bounds[:-1])
        ]
