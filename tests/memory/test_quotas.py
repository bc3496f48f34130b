"""Token holds in SQL: admitted below the limit, refused at it, replaced by the call's row
wherever that row is written, lapsed when their process died."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.conversations import NewMessage
from memory.db.models import TokenHold
from memory.quotas import QuotaStore, Window
from memory.usage import LLMCallRecord, UsageStore
from tests.memory.conftest import person

HOUR = timedelta(hours=1)


def _window(daily: int = 0, monthly: int = 0) -> Window:
    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(day, day.replace(day=1), daily, monthly)


async def _holds(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(TokenHold))).scalar_one()
        )


def _call(user_id: int, tokens: int, hold: int | None) -> LLMCallRecord:
    return LLMCallRecord("turn", "m", True, tokens, 0, user_id=user_id, hold_id=hold)


async def test_a_hold_counts_until_its_calls_row_replaces_it(engine: AsyncEngine) -> None:
    ann = await person(engine, "ann")
    store, usage = QuotaStore(engine), UsageStore(engine)
    window = _window(daily=1_000)
    first = await store.reserve(ann.user.id, 600, window, HOUR)
    assert first is not None
    # 600 held: a second call of 600 is still admitted (held 600 < 1,000) ...
    second = await store.reserve(ann.user.id, 600, window, HOUR)
    assert second is not None
    # ... and a third is not (spent 0 + held 1,200 reach the limit); it holds nothing.
    assert await store.reserve(ann.user.id, 10, window, HOUR) is None
    assert (await store.spent(ann.user.id, window)).held == 1_200

    await usage.record_llm_call(_call(ann.user.id, 100, first))
    spent = await store.spent(ann.user.id, window)
    assert (spent.today, spent.held) == (100, 600)
    assert await _holds(engine) == 1

    # The agent stores its step's call in the step's own transaction: same settlement.
    context = await ann.store.load_context(ann.chat.id)
    await ann.store.record_step(
        ann.chat.id,
        ann.user.id,
        context.next_turn,
        [NewMessage("assistant", "done")],
        call=_call(ann.user.id, 200, second),
    )
    spent = await store.spent(ann.user.id, window)
    assert (spent.today, spent.held) == (300, 0)
    assert await _holds(engine) == 0


async def test_a_lapsed_hold_no_longer_counts_and_is_pruned(engine: AsyncEngine) -> None:
    ann = await person(engine, "ann")
    store = QuotaStore(engine)
    window = _window(monthly=500)
    hold = await store.reserve(ann.user.id, 500, window, HOUR)
    assert hold is not None and await store.reserve(ann.user.id, 1, window, HOUR) is None
    async with engine.begin() as connection:  # its process died an hour ago
        await connection.execute(
            update(TokenHold).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert (await store.spent(ann.user.id, window)).held == 0
    assert await store.reserve(ann.user.id, 1, window, HOUR) is not None
    assert await store.prune() == 1


async def test_reservations_at_once_never_hold_past_the_limit(engine: AsyncEngine) -> None:
    """Twenty reservations race for a budget of five: exactly five are admitted."""
    ann = await person(engine, "ann")
    store = QuotaStore(engine)
    window = _window(daily=500)
    holds = await asyncio.gather(
        *(store.reserve(ann.user.id, 100, window, HOUR) for _ in range(20))
    )
    assert sum(h is not None for h in holds) == 5
    assert (await store.spent(ann.user.id, window)).held == 500


async def test_a_released_hold_is_gone(engine: AsyncEngine) -> None:
    ann = await person(engine, "ann")
    store = QuotaStore(engine)
    hold = await store.reserve(ann.user.id, 300, _window(daily=1_000), HOUR)
    assert hold is not None
    await store.release(hold)
    assert await _holds(engine) == 0
