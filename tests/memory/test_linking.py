"""Joining two people loses nothing of either, and unlinking takes an account's chats with it
(memory/linking.py, memory/merge.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from memory.conversations import ConversationStore
from memory.db import reading, writing
from memory.db.models import (
    Approval,
    AuditEntry,
    ConversationSummary,
    Delivery,
    Embedding,
    Job,
    LinkCode,
    LLMCall,
    MemoryItem,
    Message,
    Task,
    TaskEvent,
    TokenHold,
    User,
    UserSkill,
    table,
)
from memory.linking import LinkRefused, LinkStore
from memory.merge import user_columns
from memory.people import PeopleStore
from memory.retrieval.scopes import Scope
from memory.retrieval.search import Searcher
from tests.memory.conftest import T0, Person, person

COUNTED = [
    Message,
    MemoryItem,
    ConversationSummary,
    Embedding,
    Task,
    TaskEvent,
    Job,
    UserSkill,
    Approval,
    LLMCall,
    Delivery,
    TokenHold,
    AuditEntry,
    LinkCode,
]


async def _insert(engine: AsyncEngine, orm: type[Any], /, **values: Any) -> int:
    rows = table(orm)
    async with writing(engine) as connection:
        result = await connection.execute(rows.insert().values(**values).returning(rows.c.id))
        return int(result.scalar_one())


async def _fill(engine: AsyncEngine, someone: Person, word: str) -> None:
    """One row of every kind that belongs to a person, saying `word`."""
    await someone.says(f"my {word} is secret", f"noted {word}")
    uid, chat = someone.user.id, someone.chat.id
    message = await _insert(
        engine,
        Message,
        conversation_id=chat,
        user_id=uid,
        role="user",
        content=f"{word} again",
        created_at=T0,
    )
    memory = await _insert(
        engine,
        MemoryItem,
        user_id=uid,
        kind="fact",
        key="car",
        content=f"drives a {word} car",
        created_at=T0,
        updated_at=T0,
    )
    await _insert(
        engine,
        MemoryItem,
        user_id=uid,
        kind="fact",
        key="",
        content=f"likes {word}",
        created_at=T0,
        updated_at=T0,
    )
    async with writing(engine) as connection:
        await connection.execute(
            table(ConversationSummary)
            .insert()
            .values(conversation_id=chat, summary=f"talked about {word}", profile="", updated_at=T0)
        )
    await _insert(
        engine,
        Embedding,
        user_id=uid,
        message_id=message,
        model="m",
        vector=b"\0" * 8,
        created_at=T0,
    )
    await _insert(
        engine, Embedding, user_id=uid, memory_id=memory, model="m", vector=b"\0" * 8, created_at=T0
    )
    task = await _insert(
        engine,
        Task,
        user_id=uid,
        conversation_id=chat,
        goal=f"plan {word}",
        status="paused",
        max_steps=5,
        max_tokens=100,
        max_seconds=60,
        checkpoint={},
        created_at=T0,
        updated_at=T0,
    )
    await _insert(engine, TaskEvent, task_id=task, step=1, kind="note", text=word, created_at=T0)
    await _insert(
        engine,
        Job,
        user_id=uid,
        conversation_id=chat,
        kind="reminder",
        text=word,
        schedule={"at": "2026-06-01T09:00:00+00:00"},
        description=word,
        status="active",
        created_at=T0,
    )
    await _insert(
        engine,
        UserSkill,
        user_id=uid,
        name="weekly-review",
        description=word,
        content=f"---\nname: weekly-review\n---\n{word}",
        status="active",
        created_at=T0,
        decided_at=T0 + timedelta(minutes=len(word)),
    )
    await _insert(
        engine,
        Approval,
        conversation_id=chat,
        user_id=uid,
        tool_name="shell",
        arguments="{}",
        summary=word,
        reason="r",
        status="approved",
        created_at=T0,
    )
    await _insert(
        engine,
        LLMCall,
        conversation_id=chat,
        user_id=uid,
        purpose="turn",
        model="m",
        ok=True,
        prompt_tokens=100,
        completion_tokens=10,
        created_at=T0,
    )
    await _insert(
        engine,
        Delivery,
        key=f"d-{word}",
        channel="test",
        chat_id=someone.chat.chat_id,
        text=word,
        status="sent",
        created_at=T0,
    )
    await _insert(
        engine,
        TokenHold,
        user_id=uid,
        tokens=50,
        created_at=T0,
        expires_at=T0 + timedelta(minutes=5),
    )
    await _insert(
        engine,
        AuditEntry,
        action="tool.called",
        actor=f"test:{word}",
        actor_id=uid,
        platform="test",
        subject_id=uid,
        created_at=T0,
    )


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with reading(engine) as connection:
        return {
            model.__tablename__: int(
                (
                    await connection.execute(select(func.count()).select_from(table(model)))
                ).scalar_one()
            )
            for model in COUNTED
        }


async def _owners(engine: AsyncEngine) -> set[int | None]:
    """Every person id any row refers to."""
    found: set[int | None] = set()
    async with reading(engine) as connection:
        for column in user_columns():
            rows = await connection.execute(select(column.column).distinct())
            found |= {row[0] for row in rows if row[0] is not None}
    return found


async def _code(engine: AsyncEngine, links: LinkStore, user_id: int, code: str = "ABCDEFGHJK"):
    await links.issue(user_id, "test:ann", code, T0, T0 + timedelta(minutes=10))
    found = await links.find(code)
    assert found is not None
    return found


async def test_a_merge_keeps_every_row_of_both_people(engine: AsyncEngine) -> None:
    ann, bob = await person(engine, "ann"), await person(engine, "bob")
    await _fill(engine, ann, "walnut")
    await _fill(engine, bob, "saffron")
    people = PeopleStore(engine)
    await people.set_quota(bob.user.id, daily=5000)
    await people.set_role(bob.user.id, "owner")
    links = LinkStore(engine)
    code = await _code(engine, links, ann.user.id)
    before = await _counts(engine)

    merged = await links.merge(code, bob.user.id, T0 + timedelta(minutes=1))

    assert merged.survivor_id == ann.user.id
    after = await _counts(engine)
    assert after == before  # not one row lost, in any table
    assert await _owners(engine) == {ann.user.id}  # and every one of them is Ann's
    survivor = await people.person(ann.user.id)
    assert survivor is not None
    assert [a.label for a in survivor.accounts] == ["test:ann", "test:bob"]
    assert survivor.accounts[1].linked_at is not None
    assert survivor.role == "owner" and survivor.daily_tokens == 5000
    assert await people.person(bob.user.id) is None
    async with reading(engine) as connection:
        users = (await connection.execute(select(func.count()).select_from(table(User)))).scalar()
        memories = table(MemoryItem)
        current = (
            (
                await connection.execute(
                    select(memories.c.content).where(
                        memories.c.key == "car", memories.c.superseded_by_id.is_(None)
                    )
                )
            )
            .scalars()
            .all()
        )
        skills = table(UserSkill)
        statuses = (
            await connection.execute(
                select(skills.c.description, skills.c.status).order_by(skills.c.description)
            )
        ).all()
    assert users == 1
    # Two cars under one key: the newer (Bob's, inserted later) is current, Ann's is history.
    assert current == ["drives a saffron car"]
    # Two active "weekly-review" skills: the later approved one stays active.
    assert statuses == [("saffron", "active"), ("walnut", "replaced")]
    # Bob's words are found in Ann's search scope (the full-text scope token moved).
    hits = await Searcher(engine).search_messages(Scope(ann.user.id), "saffron secret")
    assert any("saffron" in hit.text for hit in hits)
    memory_hits = await Searcher(engine).search_memories(ann.user.id, "likes saffron")
    assert any("saffron" in hit.memory.content for hit in memory_hits)


async def test_a_code_joins_once_and_only_while_valid(engine: AsyncEngine) -> None:
    ann, bob, cy = [await person(engine, n) for n in ("ann", "bob", "cy")]
    links = LinkStore(engine)
    code = await _code(engine, links, ann.user.id)
    await links.merge(code, bob.user.id, T0)
    with pytest.raises(LinkRefused, match="used or has expired"):
        await links.merge(code, cy.user.id, T0)
    late = await _code(engine, links, ann.user.id, "ZZZZZZZZZZ")
    with pytest.raises(LinkRefused, match="used or has expired"):
        await links.merge(late, cy.user.id, T0 + timedelta(minutes=11))
    assert await PeopleStore(engine).person(cy.user.id) is not None  # nothing happened to Cy


async def test_an_account_already_linked_is_refused_inside_the_transaction(
    engine: AsyncEngine,
) -> None:
    ann, bob, cy = [await person(engine, n) for n in ("ann", "bob", "cy")]
    links = LinkStore(engine)
    await links.merge(await _code(engine, links, bob.user.id, "BBBBBBBBBB"), cy.user.id, T0)
    before = await _counts(engine)
    with pytest.raises(LinkRefused, match="linked with another"):
        await links.merge(await _code(engine, links, ann.user.id), bob.user.id, T0)
    assert await _counts(engine) == before | {"link_codes": before["link_codes"] + 1}
    bob_now = await PeopleStore(engine).person(bob.user.id)
    assert bob_now is not None and len(bob_now.accounts) == 2  # rolled back whole


async def _elsewhere(engine: AsyncEngine, name: str) -> Person:
    """A person whose account is on another platform ("chat")."""
    store = ConversationStore(engine)
    user = await store.resolve_identity("chat", name, name.title())
    chat = await store.open_conversation("chat", f"D{name}", "", is_direct=True, owner_id=user.id)
    return Person(store, user, chat)


async def test_unlinking_takes_the_accounts_private_chats_and_leaves_the_rest(
    engine: AsyncEngine,
) -> None:
    ann, bob = await person(engine, "ann"), await _elsewhere(engine, "bob")
    await _fill(engine, ann, "walnut")
    await _fill(engine, bob, "saffron")
    links = LinkStore(engine)
    await links.merge(await _code(engine, links, ann.user.id), bob.user.id, T0)
    before = await _counts(engine)

    split = await links.split(ann.user.id, "chat:bob", T0)

    assert await _counts(engine) == before
    assert split.conversations == 1
    people = PeopleStore(engine)
    again = await people.by_account("chat", "bob")
    assert again is not None and again.id == split.user_id and again.role == "member"
    async with reading(engine) as connection:
        messages = table(Message)
        bobs = (
            (
                await connection.execute(
                    select(messages.c.content).where(messages.c.user_id == split.user_id)
                )
            )
            .scalars()
            .all()
        )
        memories = table(MemoryItem)
        left = (
            await connection.execute(
                select(func.count()).where(memories.c.user_id == split.user_id)
            )
        ).scalar()
    assert "saffron again" in bobs and not any("walnut" in m for m in bobs)
    assert left == 0  # memories stay with the person who keeps every older fact
    with pytest.raises(LinkRefused, match="only account"):
        await links.split(ann.user.id, "test:ann", T0)
    with pytest.raises(LinkRefused, match="not one of your accounts"):
        await links.split(ann.user.id, "chat:bob", T0)
