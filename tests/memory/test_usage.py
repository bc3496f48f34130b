"""Tokens per day for the usage charts: split at the person's own midnights (not UTC's),
cached and uncached input and output summed per day, empty days kept, calls outside the
span and other people's calls left out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.people.budget import day_bounds
from memory.db.models import LLMCall
from memory.usage import DayUsage, LLMCallRecord, UsageStore
from tests.memory.conftest import person

# Tokyo is UTC+9: its 5 December begins at 15:00 UTC on the 4th.
TOKYO = "Asia/Tokyo"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 21:00 on the 5th in Tokyo


async def _call_at(
    engine: AsyncEngine, user_id: int, at: datetime, prompt: int, cached: int, output: int
) -> None:
    usage = UsageStore(engine)
    await usage.record_llm_call(
        LLMCallRecord("turn", "m", True, prompt, output, cached, user_id=user_id)
    )
    async with engine.begin() as connection:
        newest = (await connection.execute(select(LLMCall.id).order_by(LLMCall.id.desc()))).first()
        assert newest is not None
        await connection.execute(
            update(LLMCall).where(LLMCall.id == newest[0]).values(created_at=at)
        )


async def test_tokens_are_summed_per_day_of_the_persons_calendar(engine: AsyncEngine) -> None:
    ann, bob = await person(engine, "ann"), await person(engine, "bob")
    uid = ann.user.id
    # 14:59 UTC on the 4th is still the 4th in Tokyo; 15:00 UTC is already the 5th.
    await _call_at(engine, uid, datetime(2026, 12, 4, 14, 59, tzinfo=UTC), 100, 40, 10)
    await _call_at(engine, uid, datetime(2026, 12, 4, 15, 0, tzinfo=UTC), 200, 50, 20)
    await _call_at(engine, uid, datetime(2026, 12, 5, 11, 0, tzinfo=UTC), 300, 0, 30)
    # Three days before: before the span of three days, so not counted.
    await _call_at(engine, uid, datetime(2026, 12, 2, 14, 0, tzinfo=UTC), 999, 0, 999)
    await _call_at(engine, bob.user.id, datetime(2026, 12, 5, 1, 0, tzinfo=UTC), 777, 0, 7)

    bounds = day_bounds(NOW, TOKYO, 3)
    days = await UsageStore(engine).per_day(uid, bounds)

    assert [day.start.isoformat() for day in days] == [
        "2026-12-03T00:00:00+09:00",
        "2026-12-04T00:00:00+09:00",
        "2026-12-05T00:00:00+09:00",
    ]
    assert [(d.prompt_tokens, d.cached_tokens, d.completion_tokens) for d in days] == [
        (0, 0, 0),
        (100, 40, 10),
        (500, 50, 50),
    ]
    assert days[2].uncached_tokens == 450
    assert days[0] == DayUsage(bounds[0])


async def test_no_calls_give_empty_days_and_no_bounds_no_days(engine: AsyncEngine) -> None:
    ann = await person(engine, "ann")
    usage = UsageStore(engine)
    days = await usage.per_day(ann.user.id, day_bounds(NOW, "UTC", 30))
    assert len(days) == 30 and not any(d.prompt_tokens or d.completion_tokens for d in days)
    assert days[-1].start == datetime(2026, 12, 5, tzinfo=UTC)
    assert await usage.per_day(ann.user.id, []) == []
