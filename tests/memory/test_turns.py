"""Turn numbers are unique per conversation (the `turns` table, memory/turns.py): a turn
gets the number it planned, or the next free one when another writer took it."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from memory import db
from memory.conversations import NewMessage
from memory.deliveries import DeliveryStore, OutgoingMessage
from memory.turns import claim_turn
from tests.memory.conftest import person


async def claimed(engine: AsyncEngine, conversation_id: int) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT number FROM turns WHERE conversation_id = :c ORDER BY number"),
            {"c": conversation_id},
        )
        return [row[0] for row in rows]


async def claim(engine: AsyncEngine, conversation_id: int, wanted: int = 0) -> int:
    async with engine.begin() as connection:
        return await claim_turn(connection, conversation_id, wanted)


async def test_a_claim_gets_the_wanted_number_or_the_next_free_one(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    assert await claim(engine, ana.chat.id, 1) == 1
    assert await claim(engine, ana.chat.id, 1) == 2  # taken: the next one
    assert await claim(engine, ana.chat.id, 7) == 7  # later than every claim: as wanted
    assert await claim(engine, ana.chat.id, 3) == 8  # never before a claimed turn
    assert await claim(engine, ana.chat.id) == 9
    bob = await person(engine, "bob")
    assert await claim(engine, bob.chat.id) == 1  # per conversation
    assert await claimed(engine, ana.chat.id) == [1, 2, 7, 8, 9]


async def test_the_schema_refuses_a_second_turn_with_the_same_number(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    insert = text("INSERT INTO turns (conversation_id, number) VALUES (:c, 1)")
    async with engine.begin() as connection:
        await connection.execute(insert, {"c": ana.chat.id})
    try:
        async with engine.begin() as connection:
            await connection.execute(insert, {"c": ana.chat.id})
    except IntegrityError:
        pass
    else:
        raise AssertionError("a second turn 1 was accepted")


async def test_a_reminder_written_during_a_turn_does_not_share_its_number(
    engine: AsyncEngine,
) -> None:
    ana = await person(engine, "ana")
    await ana.says("hello", "hi")
    waiting = await ana.store.add_user_message(ana.chat.id, ana.user.id, "what's new?")
    assert waiting is not None
    planned = (await ana.store.load_context(ana.chat.id)).next_turn
    # While the model answers, the background writes a reminder into the conversation.
    reminder = OutgoingMessage("r-1", "test", ana.chat.chat_id, "", "Reminder: tea", True)
    await DeliveryStore(engine).add(reminder)
    turn = await ana.store.record_step(
        ana.chat.id, ana.user.id, planned, [NewMessage("assistant", "nothing")], [waiting.id]
    )
    assert (planned, turn) == (2, 3)
    history = [(m.content, m.turn) for m in (await ana.store.load_context(ana.chat.id)).messages]
    assert history == [
        ("hello", 1),
        ("hi", 1),
        ("Reminder: tea", 2),
        ("what's new?", 3),
        ("nothing", 3),
    ]
    assert await claimed(engine, ana.chat.id) == [1, 2, 3]


async def test_stop_and_new_claim_their_turns_too(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    await ana.says("hello", "hi")
    stopped = await ana.store.add_user_message(ana.chat.id, ana.user.id, "long question")
    assert stopped is not None
    await ana.store.close_pending(ana.chat.id, stopped.id)
    await ana.store.start_new_context(ana.chat.id, stopped.id)
    assert await claimed(engine, ana.chat.id) == [1, 2, 3]
    assert (await ana.store.load_context(ana.chat.id)).next_turn == 4


async def test_concurrent_claims_each_get_their_own_number(engine: AsyncEngine) -> None:
    ana = await person(engine, "ana")
    numbers = await asyncio.gather(*(claim(engine, ana.chat.id, 1) for _ in range(10)))
    assert sorted(numbers) == list(range(1, 11))


async def test_the_migration_takes_existing_turns_from_the_messages(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine, "0013_dashboard")
        async with engine.begin() as connection:
            await connection.execute(
                text("INSERT INTO users (id, name, created_at) VALUES (1, 'Ana', '2026-01-02')")
            )
            for chat in (1, 2):
                await connection.execute(
                    text(
                        "INSERT INTO conversations (id, channel, chat_id, thread_id, is_direct,"
                        " owner_id, context_from_turn, created_at)"
                        " VALUES (:id, 'test', :chat, '', true, 1, 0, '2026-01-02')"
                    ),
                    {"id": chat, "chat": f"c{chat}"},
                )
            # Several messages share a turn; one still waits (NULL).
            for conversation, turn in [(1, 1), (1, 1), (1, 1), (1, 2), (1, None), (2, 1)]:
                await connection.execute(
                    text(
                        "INSERT INTO messages (conversation_id, user_id, turn, role, content,"
                        " created_at) VALUES (:c, 1, :t, 'user', 'x', '2026-01-02')"
                    ),
                    {"c": conversation, "t": turn},
                )
        await db.upgrade(engine)
        assert await claimed(engine, 1) == [1, 2]
        assert await claimed(engine, 2) == [1]
        assert await claim(engine, 1, 1) == 3
    finally:
        await engine.dispose()
