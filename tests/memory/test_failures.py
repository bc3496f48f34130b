"""Failed model calls over a recent window, for the Health page (both databases)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db.sqltypes import utcnow
from memory.failures import CallFailures, FailureStore
from memory.usage import LLMCallRecord, UsageStore


async def test_counts_failures_since_and_names_the_latest(engine: AsyncEngine) -> None:
    usage, failures = UsageStore(engine), FailureStore(engine)
    hour_ago = utcnow() - timedelta(hours=1)
    assert await failures.model_calls_since(hour_ago) == CallFailures(0, 0)
    await usage.record_llm_call(LLMCallRecord("chat", "m1", ok=False, error="older: 500"))
    await usage.record_llm_call(LLMCallRecord("chat", "m1", ok=True))
    await usage.record_llm_call(LLMCallRecord("summary", "m2", ok=False, error="timeout"))
    await usage.record_llm_call(LLMCallRecord("chat", "m1", ok=True))
    found = await failures.model_calls_since(hour_ago)
    assert (found.calls, found.failed, found.last_error, found.last_model) == (
        4,
        2,
        "timeout",
        "m2",
    )
    assert found.last_at is not None and found.last_at >= hour_ago
    later = await failures.model_calls_since(utcnow() + timedelta(minutes=1))
    assert (later.calls, later.failed, later.last_error) == (0, 0, None)
