"""What a search may see, checked on every message of a scope: vector search compares
the query with each message the scope and filters let through (a constant embedding
makes every one a candidate), so the candidates are exactly what is visible."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from memory.db.models import Message
from memory.retrieval.embeddings import VectorStore
from memory.retrieval.scopes import MessageFilter, Scope
from tests.memory.conftest import T0, days, group, person

EVERYTHING = MessageFilter()


async def _same(texts: list[str]) -> list[list[float]]:
    return [[1.0, 0.0] for _ in texts]


async def visible(engine: AsyncEngine, scope: Scope, where: MessageFilter = EVERYTHING) -> set[str]:
    vectors = VectorStore(engine, _same, "same")
    target = await vectors.query_vector("anything")
    assert target is not None
    found = await vectors.messages(scope, target, where, limit=1_000)
    async with engine.connect() as connection:
        rows = await connection.execute(
            Message.__table__.select().where(Message.id.in_([c.id for c in found]))
        )
        return {row.content for row in rows}


async def test_a_private_scope_sees_the_person_everywhere_a_group_scope_only_the_group(
    engine: AsyncEngine,
) -> None:
    ana, bob = await person(engine, "ana"), await person(engine, "bob")
    room, other_room = await group(engine, "g1"), await group(engine, "g2")
    await ana.says("ana alone", "to ana")
    await ana.says("ana to the group", "to the group", chat=room)
    await bob.says("bob to the group", "to bob in the group", chat=room)
    await bob.says("bob alone", "to bob")
    await bob.says("bob elsewhere", "to bob elsewhere", chat=other_room)
    for who in (ana, bob):
        await VectorStore(engine, _same, "same").index_pending(who.user.id)

    assert await visible(engine, Scope(ana.user.id)) == {
        "ana alone",
        "to ana",
        "ana to the group",
        "to the group",
    }
    assert await visible(engine, Scope(bob.user.id, room.id)) == {
        "ana to the group",
        "to the group",
        "bob to the group",
        "to bob in the group",
    }


async def test_a_time_range_includes_its_start_and_excludes_its_end(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    for day in range(-1, 3):
        await ana.store.add_user_message(
            ana.chat.id, ana.user.id, f"day {day}", sent_at=T0 + days(day)
        )
    await VectorStore(engine, _same, "same").index_pending(ana.user.id)
    scope = Scope(ana.user.id)

    assert await visible(engine, scope) == {"day -1", "day 0", "day 1", "day 2"}
    assert await visible(engine, scope, MessageFilter(since=T0)) == {"day 0", "day 1", "day 2"}
    assert await visible(engine, scope, MessageFilter(until=T0 + days(2))) == {
        "day -1",
        "day 0",
        "day 1",
    }
    window = MessageFilter(since=T0, until=T0 + days(2))
    assert await visible(engine, scope, window) == {"day 0", "day 1"}


async def test_the_live_context_left_out_is_one_conversation_from_a_turn_on(
    engine: AsyncEngine,
) -> None:
    """Skipped: the conversation's messages from `skip_from_turn` on and those not
    answered yet. Kept: its earlier turns, and every turn of other conversations."""
    ana = await person(engine, "ana")
    room = await group(engine)
    for chat in (ana.chat, room):
        where = "private" if chat is ana.chat else "group"
        for turn in (1, 2, 3):  # each conversation numbers its turns from 1
            await ana.says(f"{where} {turn}", f"{where} reply {turn}", chat=chat)
        await ana.store.add_user_message(chat.id, ana.user.id, f"{where} waiting")
    await VectorStore(engine, _same, "same").index_pending(ana.user.id)

    everything = await visible(engine, Scope(ana.user.id))
    assert len(everything) == 14
    skip = MessageFilter(skip_conversation=ana.chat.id, skip_from_turn=2)
    assert await visible(engine, Scope(ana.user.id), skip) == everything - {
        "private 2",
        "private reply 2",
        "private 3",
        "private reply 3",
        "private waiting",
    }
    in_group = MessageFilter(skip_conversation=room.id, skip_from_turn=3)
    assert await visible(engine, Scope(ana.user.id, room.id), in_group) == {
        "group 1",
        "group reply 1",
        "group 2",
        "group reply 2",
    }
