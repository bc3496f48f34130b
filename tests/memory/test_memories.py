"""Long-term memories on real SQLite and PostgreSQL: supersede, history, expiry, forget."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.memories import MemoryStore, parse_memory_id
from memory.retrieval.search import Searcher
from tests.memory.conftest import T0, days, person


async def test_same_key_supersedes_and_keeps_history(engine: AsyncEngine) -> None:
    memories = MemoryStore(engine)
    alice = await person(engine, "alice")
    old = await memories.remember(alice.user.id, "Lives in Berlin", key="Home City", now=T0)
    new = await memories.remember(
        alice.user.id, "Lives in Lisbon", key="home city", now=T0 + days(1)
    )

    assert [m.id for m in new.superseded] == [old.memory.id]
    current = await memories.current(alice.user.id, now=T0 + days(2))
    assert [m.content for m in current] == ["Lives in Lisbon"]
    assert [m.content for m in await memories.history(alice.user.id, new.memory.id)] == [
        "Lives in Berlin"
    ]
    # Search treats only the current version as current.
    hits = await Searcher(engine).search_memories(
        alice.user.id, "where does she live", now=T0 + days(2)
    )
    assert [h.memory.content for h in hits] == ["Lives in Lisbon"]
    # Forgetting the current version removes its history too.
    gone = await memories.forget(alice.user.id, str(new.memory.id))
    assert [m.content for m in gone] == ["Lives in Lisbon"]
    assert await memories.all(alice.user.id) == []


async def test_replaces_by_id_and_duplicates_are_not_stored_twice(engine: AsyncEngine) -> None:
    memories = MemoryStore(engine)
    bob = await person(engine, "bob")
    first = await memories.remember(bob.user.id, "Likes tea", kind="preference", now=T0)
    again = await memories.remember(bob.user.id, "likes  TEA", kind="preference", now=T0)
    assert again.duplicate and again.memory.id == first.memory.id
    fixed = await memories.remember(
        bob.user.id, "Likes coffee, not tea", kind="preference", replaces=first.memory.id, now=T0
    )
    assert [m.id for m in fixed.superseded] == [first.memory.id]
    assert await memories.count_current(bob.user.id, now=T0) == 1


async def test_expired_memories_are_not_current(engine: AsyncEngine) -> None:
    memories = MemoryStore(engine)
    carol = await person(engine, "carol")
    await memories.remember(
        carol.user.id, "Trip to Rome on Friday", kind="plan", expires_at=T0 + days(3), now=T0
    )
    assert await memories.count_current(carol.user.id, now=T0 + days(1)) == 1
    assert await memories.count_current(carol.user.id, now=T0 + days(4)) == 0
    searcher = Searcher(engine)
    assert await searcher.search_memories(carol.user.id, "Rome trip", now=T0 + days(1))
    assert await searcher.search_memories(carol.user.id, "Rome trip", now=T0 + days(4)) == []


async def test_forget_by_text_touches_only_the_owner(engine: AsyncEngine) -> None:
    memories = MemoryStore(engine)
    alice = await person(engine, "alice")
    bob = await person(engine, "bob")
    await memories.remember(alice.user.id, "Sister is called Ana", kind="person", now=T0)
    await memories.remember(alice.user.id, "Allergic to 100% peanuts", now=T0)
    bobs = await memories.remember(bob.user.id, "Sister is called Ana too", kind="person", now=T0)

    assert await memories.forget(bob.user.id, "#999999") == []
    # Bob cannot forget Alice's memory by guessing its id.
    alices = await memories.current(alice.user.id, now=T0)
    assert await memories.forget(bob.user.id, str(alices[0].id)) == []
    # Text match is literal: % and _ are not wildcards.
    assert await memories.forget(alice.user.id, "100%", now=T0) != []
    assert await memories.forget(alice.user.id, "_", now=T0) == []
    gone = await memories.forget(alice.user.id, "sister", now=T0)
    assert [m.content for m in gone] == ["Sister is called Ana"]
    assert [m.id for m in await memories.current(bob.user.id, now=T0)] == [bobs.memory.id]


async def test_bad_memories_are_refused(engine: AsyncEngine) -> None:
    memories = MemoryStore(engine)
    alice = await person(engine, "alice")
    with pytest.raises(ValueError, match="text"):
        await memories.remember(alice.user.id, "   ")
    with pytest.raises(ValueError, match="kind"):
        await memories.remember(alice.user.id, "x", kind="gossip")


def test_memory_ids_are_read_in_the_usual_spellings() -> None:
    assert [parse_memory_id(t) for t in ("12", "#12", "m12", " memory 12 ", "12a", "")] == [
        12,
        12,
        12,
        12,
        None,
        None,
    ]
