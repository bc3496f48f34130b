"""Two replicas on one PostgreSQL database take messages of the same conversation: its
turns stay strictly serial, so every message is answered once, in order, by whichever
replica (memory/db/turn_lock.py, memory/turns.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import App
from tests.bot.app.test_lifecycle import started
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo, without_note

Replica = tuple[App, RecordingChannel]


@pytest.fixture
async def replicas(
    fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two started apps on the same PostgreSQL database, each with its own chat channel
    (like two processes behind a load balancer, each taking some of the webhooks)."""
    first = await started(make_settings(fake_llm, postgres_url, tmp_path / "a"))
    second = await started(make_settings(fake_llm, postgres_url, tmp_path / "b"))
    try:
        yield first, second
    finally:
        await second[0].close()
        await first[0].close()


def slow_echo(seconds: float) -> Any:
    def answer(request: dict[str, Any]) -> Reply:
        return Reply(text=echo(request).text, delay=seconds)

    return answer


def answered_by(request: dict[str, Any]) -> list[str]:
    """The user messages a model request answers: those after its last assistant message."""
    said = [m for m in request["messages"] if m["role"] in {"user", "assistant"}]
    last = max((i for i, m in enumerate(said) if m["role"] == "assistant"), default=-1)
    return [without_note(m["content"]) for m in said[last + 1 :] if m["role"] == "user"]


async def stored(app: App) -> list[tuple[str, str, int | None]]:
    async with app.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT role, content, turn FROM messages ORDER BY turn NULLS LAST, id")
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def test_a_message_reaching_the_other_replica_mid_turn_waits_for_the_next_turn(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    fake_llm.responder = slow_echo(1.0)
    await a.sessions.handle(a_chat.inbound("one", msg_id="1"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)
    # Replica A is asking the model; the person's next message reaches replica B.
    await b.sessions.handle(b_chat.inbound("two", msg_id="2"))
    await asyncio.gather(a.sessions.drain(), b.sessions.drain())

    assert [answered_by(r) for r in fake_llm.requests] == [["one"], ["two"]]
    # The second turn saw the first one's answer: it ran after it, not beside it.
    second = [m for m in fake_llm.requests[1]["messages"] if m["role"] != "system"]
    assert [without_note(m["content"]) for m in second] == ["one", "echo: one", "two"]
    assert a_chat.texts() + b_chat.texts() == ["echo: one", "echo: two"]
    assert await stored(a) == [
        ("user", "one", 1),
        ("assistant", "echo: one", 1),
        ("user", "two", 2),
        ("assistant", "echo: two", 2),
    ]


async def test_new_on_the_other_replica_waits_for_the_running_turn(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    fake_llm.responder = slow_echo(1.0)
    await a.sessions.handle(a_chat.inbound("one", msg_id="1"))
    while not fake_llm.requests:
        await asyncio.sleep(0.01)
    await b.sessions.handle(b_chat.inbound("/new", msg_id="2"))
    await asyncio.gather(a.sessions.drain(), b.sessions.drain())
    fake_llm.responder = slow_echo(0)
    await a.sessions.handle(a_chat.inbound("three", msg_id="3"))
    await a.sessions.drain()
    # /new came after the first answer, so the fresh context holds nothing before it.
    third = [m for m in fake_llm.requests[-1]["messages"] if m["role"] != "system"]
    assert [without_note(m["content"]) for m in third] == ["three"]
    assert a_chat.texts() == ["echo: one", "echo: three"]


async def test_messages_spread_over_both_replicas_are_each_answered_once_in_order(
    replicas: tuple[Replica, Replica], fake_llm: FakeOpenAI
) -> None:
    (a, a_chat), (b, b_chat) = replicas
    fake_llm.responder = slow_echo(0.2)
    said = [f"message {n}" for n in range(12)]
    for n, words in enumerate(said):
        app, chat = (a, a_chat) if n % 2 == 0 else (b, b_chat)
        await app.sessions.handle(chat.inbound(words, msg_id=str(n)))
        await asyncio.sleep(0.07)
    await asyncio.gather(a.sessions.drain(), b.sessions.drain())
    await asyncio.gather(a.sessions.drain(), b.sessions.drain())

    # Never twice, never lost, never out of order: the model was given each message as
    # new exactly once, in the order they were sent.
    answered = [words for request in fake_llm.requests for words in answered_by(request)]
    assert answered == said
    rows = await stored(a)
    assert all(turn is not None for _, _, turn in rows)
    users = [(content, turn) for role, content, turn in rows if role == "user"]
    assert [content for content, _ in users] == said
    answers = [turn for role, _, turn in rows if role == "assistant"]
    assert len(answers) == len(set(answers)) == len(fake_llm.requests)
    assert len(a_chat.texts() + b_chat.texts()) == len(fake_llm.requests)
