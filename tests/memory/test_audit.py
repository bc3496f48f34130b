"""Reading the audit trail a page at a time, and the actions it holds (both databases)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from memory.audit import Actor, AuditStore

OWNER = Actor("telegram:1", "telegram", None)


async def test_pages_follow_one_another_without_gaps_or_repeats(engine: AsyncEngine) -> None:
    audit = AuditStore(engine)
    for number in range(7):
        await audit.record("tool.called" if number % 2 else "person.blocked", OWNER, n=number)
    first = await audit.entries(limit=3)
    second = await audit.entries(limit=3, before=first[-1].id)
    third = await audit.entries(limit=3, before=second[-1].id)
    assert [e.detail["n"] for e in first + second + third] == [6, 5, 4, 3, 2, 1, 0]
    called = await audit.entries(actions=("tool.called",), limit=2, before=first[0].id)
    assert [e.detail["n"] for e in called] == [5, 3]
    assert await audit.action_names() == ["person.blocked", "tool.called"]


async def test_an_empty_trail_has_no_actions(engine: AsyncEngine) -> None:
    assert await AuditStore(engine).action_names() == []
