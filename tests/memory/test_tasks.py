"""The task store's listing on both databases: newest first, a page at a time."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from memory.tasks import Budget, TaskStore
from tests.memory.conftest import person


async def test_tasks_are_listed_newest_first_a_page_at_a_time(engine: AsyncEngine) -> None:
    store = TaskStore(engine)
    ana, ben = await person(engine, "ana"), await person(engine, "ben")
    budget = Budget(5, 1_000, 60)
    made = []
    for n in range(5):
        for who in (ana, ben):
            task = await store.create(
                user_id=who.user.id,
                conversation_id=who.chat.id,
                goal=f"{who.user.name} {n}",
                budget=budget,
            )
            assert task is not None
            made.append(task)
    first = await store.find(user_id=ana.user.id, limit=3)
    assert [t.goal for t in first] == ["Ana 4", "Ana 3", "Ana 2"]
    rest = await store.find(user_id=ana.user.id, before=first[-1].id, limit=3)
    assert [t.goal for t in rest] == ["Ana 1", "Ana 0"]
    assert await store.find(user_id=ana.user.id, before=rest[-1].id) == []
