"""The task store on both databases: its listing, newest first a page at a time; a
step's outcome stored once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db.models import Delivery
from memory.deliveries import OutgoingMessage
from memory.tasks import Budget, Progress, TaskStore
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


async def test_a_step_stored_twice_counts_once(engine: AsyncEngine) -> None:
    """The queue may run one step twice (a worker killed after its checkpoint): the
    second outcome, worked out from the same step, writes nothing, its messages neither."""
    store = TaskStore(engine)
    ana = await person(engine, "ana")
    task = await store.create(
        user_id=ana.user.id, conversation_id=ana.chat.id, goal="count", budget=Budget(9, 99, 60)
    )
    assert task is not None
    [claimed] = await store.claim_queued(1, 1)

    def outcome(note: str) -> Progress:
        message = OutgoingMessage(f"task:{claimed}:{note}", "test", "1", "", note)
        return Progress(
            step=1, tokens_used=5, seconds_used=1.0, plan="", notes=note, checkpoint={},
            events=[("step", note)], messages=[message],
        )  # fmt: skip

    assert await store.checkpoint(claimed, outcome("first run"), at_step=0)
    assert not await store.checkpoint(claimed, outcome("second run"), at_step=0)
    stored = await store.get(claimed)
    assert stored is not None and (stored.step, stored.notes) == (1, "first run")
    assert [e.text for e in await store.events(claimed) if e.kind == "step"] == ["first run"]
    async with engine.connect() as connection:
        keys = (await connection.execute(select(Delivery.key))).scalars().all()
    assert keys == [f"task:{claimed}:first run"]
