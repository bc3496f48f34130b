"""Fixtures for memory tests: a migrated engine on each database, and people in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from memory import db
from memory.conversations import ConversationRecord, ConversationStore, NewMessage, UserRecord

T0 = datetime(2026, 5, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    created = db.create_engine(database_url)
    await db.upgrade(created)
    try:
        yield created
    finally:
        await created.dispose()


@dataclass
class Person:
    """A user with a private chat, who can say things that get answered."""

    store: ConversationStore
    user: UserRecord
    chat: ConversationRecord

    async def says(
        self,
        text: str,
        reply: str | None = None,
        *,
        at: datetime = T0,
        chat: ConversationRecord | None = None,
    ) -> None:
        where = chat or self.chat
        stored = await self.store.add_user_message(where.id, self.user.id, text, sent_at=at)
        if stored is None:
            raise AssertionError("message was not stored")
        context = await self.store.load_context(where.id)
        await self.store.record_step(
            where.id,
            self.user.id,
            context.next_turn,
            [NewMessage("assistant", reply or f"noted for {self.user.name}")],
            [stored.id],
        )


async def person(engine: AsyncEngine, name: str) -> Person:
    store = ConversationStore(engine)
    user = await store.resolve_identity("test", name, name.title())
    chat = await store.open_conversation("test", f"dm-{name}", "", is_direct=True, owner_id=user.id)
    return Person(store, user, chat)


async def group(engine: AsyncEngine, name: str = "g1") -> ConversationRecord:
    return await ConversationStore(engine).open_conversation(
        "test", name, "", is_direct=False, owner_id=None
    )


def days(n: int) -> timedelta:
    return timedelta(days=n)
