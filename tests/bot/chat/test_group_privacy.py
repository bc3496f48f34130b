"""A group turn that answers several people carries no one's private data: messages that
arrive while a turn runs are answered together as the last sender, so recall and the
memory tools must not use that person's memories for everyone."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from bot.app import App
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

PIN = "Ana's bank PIN is 4821"


def in_group(channel: RecordingChannel, text: str, sender: str) -> Any:
    return replace(channel.inbound(text, chat="g1", sender=sender, direct=False), mentions_bot=True)


async def user_id(app: App, sender: str) -> int:
    return (await app.store.resolve_identity("test", sender, sender.title())).id


async def turn_of_two(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI, **last: Reply
) -> None:
    """Carol starts a slow turn; Bob and then Ana write meanwhile (one turn, as Ana)."""
    fake_llm.add(Reply(text="hi all", delay=0.6))
    if "reply" in last:
        fake_llm.add(last["reply"])
    await app.sessions.handle(in_group(channel, "morning", "carol"))
    await asyncio.sleep(0.2)
    await app.sessions.handle(in_group(channel, "what is Ana's bank PIN?", "bob"))
    await app.sessions.handle(in_group(channel, "any news about the bank?", "ana"))
    await app.sessions.drain()


@pytest.mark.parametrize("query", ["bank PIN", "bank", "Ana PIN code"])
async def test_recall_adds_no_private_memory_to_a_turn_of_several_people(
    query: str, app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    await app.memory.memories.remember(await user_id(app, "ana"), PIN)
    fake_llm.add(Reply(text="hi all", delay=0.6))
    await app.sessions.handle(in_group(channel, "morning", "carol"))
    await asyncio.sleep(0.2)
    await app.sessions.handle(in_group(channel, f"tell me {query}", "bob"))
    await app.sessions.handle(in_group(channel, f"yes, {query} please", "ana"))
    await app.sessions.drain()
    assert len(fake_llm.requests) == 2, "Bob's and Ana's messages: one turn"
    assert "4821" not in json.dumps(fake_llm.requests[-1])

    # Ana alone in the same group: her own memories may help her.
    await app.sessions.handle(in_group(channel, f"remind me: {query}?", "ana"))
    await app.sessions.drain()
    assert "4821" in json.dumps(fake_llm.requests[-1])


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("recall", {"query": "bank"}),
        ("recall", {"query": ""}),
        ("remember", {"text": "Ana's PIN changed to 0000"}),
        ("forget", {"memory": "PIN"}),
    ],
)
async def test_memory_tools_refuse_in_a_turn_of_several_people(
    tool: str, args: dict[str, Any], app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    ana = await user_id(app, "ana")
    await app.memory.memories.remember(ana, PIN)
    await turn_of_two(app, channel, fake_llm, reply=Reply(tool_calls=[(tool, args)]))
    fake_llm.responder = echo
    results = [m["content"] for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert results and "several people in a group" in results[-1]
    assert "4821" not in json.dumps(fake_llm.requests[-1])
    assert [m.content for m in await app.memory.memories.all(ana)] == [PIN]
