"""Whatever a person types, search answers with results or [] — never an error.

Run against real FTS5 and real PostgreSQL full-text search; hypothesis tries
arbitrary text, and the fixed cases are the classic query-syntax traps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from memory import db
from memory.memories import MemoryStore
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher
from tests.memory.conftest import Person, person

HOSTILE = [
    "",
    " ",
    '"',
    '""',
    "*",
    "NEAR(",
    "NEAR(a b",
    "OR",
    "AND OR NOT",
    "a OR",
    '"unbalanced quote',
    "col:value",
    "{content}: x",
    "'; DROP TABLE messages; --",
    "1) OR 1=1 --",
    "x' UNION SELECT * FROM users --",
    "!!!&&&|||:::",
    "<-> & | ! :* :A",
    "\x00\x01\x02\xff",
    "\ud800 lone surrogate",
    "tea" * 200,
    "word " * 5_000,
    "x" * 1_000_000,
    "\u200b\u00a0\ufeff",
    "🍵☕ tea",
    "Ça été évité naïve",
]


@pytest.fixture
def seeded(database_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, Searcher, Person]]:
    loop = asyncio.new_event_loop()
    engine: AsyncEngine = db.create_engine(database_url)

    async def seed() -> Person:
        await db.upgrade(engine)
        alice = await person(engine, "alice")
        await alice.says("I drink green tea every morning")
        await alice.says('quotes " and * and NEAR( in text')
        await MemoryStore(engine).remember(alice.user.id, "Prefers tea to coffee")
        return alice

    alice = loop.run_until_complete(seed())
    try:
        yield loop, Searcher(engine), alice
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


def _both(loop: asyncio.AbstractEventLoop, searcher: Searcher, alice: Person, query: str) -> None:
    async def run() -> None:
        messages = await searcher.search_messages(Scope(alice.user.id), query)
        memories = await searcher.search_memories(alice.user.id, query)
        grouped = await searcher.search_messages(Scope(alice.user.id, alice.chat.id), query)
        assert isinstance(messages, list) and isinstance(memories, list)
        assert isinstance(grouped, list)

    loop.run_until_complete(run())


def test_hostile_queries_never_fail(
    seeded: tuple[asyncio.AbstractEventLoop, Searcher, Person],
) -> None:
    for query in HOSTILE:
        _both(*seeded, query)


def test_syntax_is_just_text(seeded: tuple[asyncio.AbstractEventLoop, Searcher, Person]) -> None:
    loop, searcher, alice = seeded
    found = loop.run_until_complete(
        searcher.search_messages(Scope(alice.user.id), 'NEAR( "tea" OR *')
    )
    assert "I drink green tea every morning" in [h.text for h in found]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=st.text(max_size=300))
def test_any_text_is_a_valid_query(
    seeded: tuple[asyncio.AbstractEventLoop, Searcher, Person], query: str
) -> None:
    _both(*seeded, query)
