"""Linking and unlinking while background tasks run: a running task of the account that
would join someone stops the link (its step in flight writes as a person about to
disappear), and one in the chat of an account to unlink stops the unlink; both go
through once the task has ended (memory/linking.py `_running_tasks`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.app import App
from tests.bot.harness.background import (
    is_task_step,
    person,
    poll,
    running_app,
    step_of,
    task_requests,
)
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo


def remembering(last: int):  # type: ignore[no-untyped-def]
    """Each step remembers one fact; the task finishes at step `last`."""

    def respond(request: dict[str, Any]) -> Reply:
        if not is_task_step(request):
            return echo(request)
        step = step_of(request)
        if step >= last:
            return Reply(tool_calls=[("finish", {"result": "done"})], delay=0.05)
        return Reply(tool_calls=[("remember", {"text": f"fact number {step}"})], delay=0.05)

    return respond


async def say(app: App, channel: RecordingChannel, text: str, sender: str) -> str:
    """Both accounts are on one platform: their private chats are named after them, as
    Telegram's are (so /unlink can tell which chats are whose)."""
    before = len(channel.sent)
    await app.sessions.handle(channel.inbound(text, sender=sender, chat=sender))
    await app.sessions.drain()
    return "\n".join(s.final for s in channel.sent[before:])


async def link(app: App, channel: RecordingChannel, issuer: str, sender: str) -> str:
    code = re.search(r"Your link code: (\w+)", await say(app, channel, "/link", issuer))
    assert code is not None
    return await say(app, channel, f"/link {code.group(1)}", sender)


def facts(saved: list[Any]) -> list[int]:
    return sorted(int(m.content.rsplit(" ", 1)[1]) for m in saved)


async def test_a_running_task_of_the_joining_account_stops_the_link_until_it_ends(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = remembering(8)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        ann, _ = await person(app, sender="ann", chat="ann")
        bob, bobs_chat = await person(app, sender="bob", chat="bob")
        task = await app.tasks.start(bob, bobs_chat, "collect facts")
        await poll(lambda: len(task_requests(fake_llm, task.id)) >= 2)
        refused = await link(app, channel, "ann", "bob")
        assert f"background task #{task.id} is running" in refused
        await poll(lambda: any("is done" in t for t in channel.texts()))
        assert "Linked" in await link(app, channel, "ann", "bob")
        assert facts(await app.memory.memories.current(ann.id, limit=100)) == list(range(1, 8))


async def test_a_running_task_in_the_chat_of_an_account_stops_its_unlink_until_it_ends(
    fake_llm: FakeOpenAI, database_url: str, tmp_path: Path
) -> None:
    fake_llm.responder = remembering(8)
    async with running_app(fake_llm, database_url, tmp_path / "data") as (app, channel):
        ann, _ = await person(app, sender="ann", chat="ann")
        await person(app, sender="bob", chat="bob")
        assert "Linked" in await link(app, channel, "ann", "bob")
        _, bobs_chat = await person(app, sender="bob", chat="bob")
        task = await app.tasks.start(ann, bobs_chat, "collect facts")
        await poll(lambda: len(task_requests(fake_llm, task.id)) >= 2)
        refused = await say(app, channel, "/unlink", "bob")
        assert f"task #{task.id} is running in this account's chat" in refused
        await poll(lambda: any("is done" in t for t in channel.texts()))

        assert "its private chats go with it" in await say(app, channel, "/unlink", "bob")
        bob = await app.people.by_account(channel.name, "bob")
        assert bob is not None and bob.id != ann.id
        # The task reported to Bob's chat and goes with it; what it learnt stays with Ann.
        finished = await app.tasks.store.get(task.id)
        assert finished is not None and finished.user_id == bob.id
        assert facts(await app.memory.memories.current(ann.id, limit=100)) == list(range(1, 8))
        assert await app.memory.memories.current(bob.id, limit=100) == []
