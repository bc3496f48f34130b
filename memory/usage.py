"""Model usage: one row per request to the model endpoint, and totals per person.

A row is `estimated` when the endpoint reported no usage (some servers ignore
`stream_options`) and the client counted the tokens itself: still counted in totals and
quotas, and shown as an estimate.

A call made for a person with a budget first holds an estimate of its tokens
(`token_holds`, memory/quotas.py); its row replaces the hold in the same transaction
(`settle`), wherever the row is written — here, or in the agent's step
(memory/conversations.py).
"""

from __future__ import annotations

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
