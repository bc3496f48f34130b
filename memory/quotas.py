"""Token budgets in SQL: holds for calls in flight, what a person has spent, their
quota overrides and the budget period they were last told about (issue 17).

Rules:
- `reserve` is one transaction per person: it holds the call's estimate and then
  counts spent (`llm_calls`) + held (`token_holds` not yet lapsed) without it; the
  call is admitted while that is below every limit, else the hold is dropped. The
  hold is written first, so on SQLite the transaction holds the one write lock
  while it counts; on PostgreSQL the person's `users` row is locked FOR UPDATE, so
  reservations of one person queue while those of different people do not.
- A call's `llm_calls` row replaces its hold (memory/usage.py: `settle`); a hold
  whose process died lapses at `expires_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from memory.db import reading, writing
from memory.db.models import LLMCall, TokenHold, User, table
from memory.db.sqltypes import utcnow

_holds = table(TokenHold)
_calls = table(LLMCall)
_users = table(User)


@dataclass(frozen=True)
class Window:
    """The periods and limits a reservation is checked against (0: unlimited)."""

    day_start: datetime
    month_start: datetime
    daily: int
    monthly: int


@dataclass(frozen=True)
class Spent:
    """Tokens of the day and the month: recorded calls, and holds of calls in flight."""

    today: int
    month: int
    held: int

    def reaches(self, window: Window) -> str:
        """ "daily" or "monthly" when spent + held reaches that limit, else ""."""
        if window.daily and self.today + self.held >= window.daily:
            return "daily"
        if window.monthly and self.month + self.held >= window.monthly:
            return "monthly"
        return ""


class QuotaStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def reserve(
        self, user_id: int, tokens: int, window: Window, lasts: timedelta
    ) -> int | None:
        """A hold of `tokens` for the person (lapsing after `lasts`), or None (nothing
        held) when what they have spent and hold already reaches a limit of `window`."""
        now = utcnow()
        expires_at = now + lasts
        async with writing(self._engine) as connection:
            if connection.dialect.name == "postgresql":
                lock = select(_users.c.id).where(_users.c.id == user_id).with_for_update()
                await connection.execute(lock)
            hold = (
                await connection.execute(
                    _holds.insert()
                    .values(user_id=user_id, tokens=tokens, created_at=now, expires_at=expires_at)
                    .returning(_holds.c.id)
                )
            ).scalar_one()
            spent = await _spent(connection, user_id, window, now, but=hold)
            if spent.reaches(window):
                await connection.execute(delete(_holds).where(_holds.c.id == hold))
                return None
            return int(hold)

    async def release(self, hold_id: int) -> None:
        """Drop a hold whose call never happened (cancelled before it was recorded)."""
        async with writing(self._engine) as connection:
            await connection.execute(delete(_holds).where(_holds.c.id == hold_id))

    async def spent(self, user_id: int, window: Window) -> Spent:
        async with reading(self._engine) as connection:
            return await _spent(connection, user_id, window, utcnow())

    async def prune(self) -> int:
        """Delete lapsed holds (their processes died); how many."""
        async with writing(self._engine) as connection:
            done = await connection.execute(delete(_holds).where(_holds.c.expires_at <= utcnow()))
        return int(done.rowcount or 0)

    async def set_limits(self, user_id: int, daily: int | None, monthly: int | None) -> None:
        """Set both overrides as given (None: the deployment's default again)."""
        async with writing(self._engine) as connection:
            await connection.execute(
                update(_users)
                .where(_users.c.id == user_id)
                .values(daily_tokens=daily, monthly_tokens=monthly)
            )

    async def notice(self, user_id: int) -> str | None:
        """The budget period the person was last told about (see bot/people/quota.py)."""
        query = select(_users.c.quota_notice).where(_users.c.id == user_id)
        async with reading(self._engine) as connection:
            return (await connection.execute(query)).scalar_one_or_none()

    async def set_notice(self, user_id: int, notice: str) -> None:
        async with writing(self._engine) as connection:
            await connection.execute(
                update(_users).where(_users.c.id == user_id).values(quota_notice=notice)
            )


async def _spent(
    connection: AsyncConnection, user_id: int, window: Window, now: datetime, but: int = 0
) -> Spent:
    tokens = _calls.c.prompt_tokens + _calls.c.completion_tokens
    since = min(window.day_start, window.month_start)
    calls = select(
        func.coalesce(
            func.sum(case((_calls.c.created_at >= window.day_start, tokens), else_=0)), 0
        ),
        func.coalesce(
            func.sum(case((_calls.c.created_at >= window.month_start, tokens), else_=0)), 0
        ),
    ).where(_calls.c.user_id == user_id, _calls.c.created_at >= since)
    held = select(func.coalesce(func.sum(_holds.c.tokens), 0)).where(
        _holds.c.user_id == user_id, _holds.c.expires_at > now, _holds.c.id != but
    )
    today, month = (await connection.execute(calls)).one()
    return Spent(int(today), int(month), int((await connection.execute(held)).scalar_one()))
