"""Helpers for memory tests through the whole app: a turn whose model calls one tool."""

from __future__ import annotations

from typing import Any

from bot.app import App
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply


async def say(
    app: App,
    channel: RecordingChannel,
    text: str,
    *,
    sender: str = "alice",
    chat: str | None = None,
    direct: bool = True,
) -> str:
    """Send a message (or command) and return what the assistant answered."""
    before = len(channel.sent)
    inbound = channel.inbound(text, sender=sender, chat=chat or f"dm-{sender}", direct=direct)
    await app.sessions.handle(inbound)
    await app.sessions.drain()
    return "\n".join(s.final for s in channel.sent[before:])


async def use_tool(
    app: App,
    channel: RecordingChannel,
    fake_llm: FakeOpenAI,
    name: str,
    args: dict[str, Any],
    **where: Any,
) -> str:
    """A turn in which the model calls `name(args)`; returns the tool's output as the
    fake model echoes it back ("tool said: ...")."""
    fake_llm.add(Reply(tool_calls=[(name, args)]))
    answer = await say(app, channel, f"please use {name}", **where)
    last = fake_llm.requests[-1]["messages"]
    results = [m["content"] for m in last if m["role"] == "tool"]
    if not results:
        raise AssertionError(f"the model never saw a result of {name}: {answer}")
    return str(results[-1])
