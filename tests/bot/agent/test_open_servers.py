"""Whole turns, through the session manager, against a server that behaves like
llama-cpp-python's: what the person sees, what is stored, what /usage says."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from bot.app import App
from bot.tools import ToolContext, tool
from memory.db.models import LLMCall, Message
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo


class Words(BaseModel):
    text: str


@tool(read_only=True)
async def count_words(ctx: ToolContext, args: Words) -> str:
    """Count the words of a text."""
    return f"{len(args.text.split())} words"


async def ask(app: App, channel: RecordingChannel, text: str) -> list[str]:
    await app.sessions.handle(channel.inbound(text))
    await app.sessions.drain()
    return channel.texts()


async def _rows(app: App) -> list[LLMCall]:
    async with app.store.session() as session:
        return list((await session.execute(select(LLMCall).order_by(LLMCall.id))).scalars())


async def test_tools_work_on_a_server_that_cannot_stream_them(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    # llama-cpp-python: tools need a choice, a streamed tool choice never comes (its
    # stream only pings), and streams carry no usage.
    fake_llm.requires_tool_choice = True
    fake_llm.cannot_stream_tools = True
    fake_llm.ping_seconds = 0.3
    fake_llm.no_stream_usage = True
    app.tools.add(count_words)
    fake_llm.add(Reply(tool_calls=[("count_words", {"text": "one two three"})]))
    replies = await ask(app, channel, "how many words in 'one two three'?")
    assert replies == ["tool said: 3 words"]
    assert all(r["tool_choice"] == "auto" for r in fake_llm.requests)
    # The stream brought nothing, so the step was asked again plainly; the model is now
    # known not to stream tools, and the answer step went plainly at once.
    assert [bool(r.get("stream")) for r in fake_llm.requests] == [True, False, False]
    assert [(r.ok, r.estimated) for r in await _rows(app)] == [(True, False), (True, False)]


async def test_usage_the_server_did_not_report_is_estimated_and_shown_so(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.no_stream_usage = True  # llama-cpp-python ignores stream_options
    await ask(app, channel, "hello there")
    [row] = await _rows(app)
    assert row.estimated and row.prompt_tokens > 100 and row.completion_tokens > 0
    usage = (await ask(app, channel, "/usage"))[-1].splitlines()
    assert usage[2] == (
        f"All time: 1 model calls, ~{row.prompt_tokens:,} prompt + "
        f"~{row.completion_tokens:,} completion tokens, 0% of prompt tokens cached"
    )
    assert usage[3] == (
        "~ means estimated: the model service reported no token counts for 1 call, "
        "so I counted those myself."
    )


async def test_a_stored_history_the_server_refuses_is_sent_repaired(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    app.tools.add(count_words)
    fake_llm.add(Reply(tool_calls=[("count_words", {"text": "a b"})]))
    assert await ask(app, channel, "count 'a b'") == ["tool said: 2 words"]

    # Now the server's template takes no tool messages (another model behind it).
    def no_tool_messages(request: dict[str, Any]) -> Reply:
        if any(m["role"] == "tool" for m in request["messages"]):
            return Reply(status=422, error_message="Only user and assistant roles are supported")
        return echo(request)

    fake_llm.responder = no_tool_messages
    replies = await ask(app, channel, "thanks")
    assert replies[-1] == (
        "echo: thanks\n\n(Note: the model service refused our conversation as it was, so I "
        "sent it again without the tool steps in their usual form (they went as plain text).)"
    )
    async with app.store.session() as session:
        stored = (await session.execute(select(Message.content).order_by(Message.id))).scalars()
        assert list(stored)[-1] == replies[-1]  # kept as said
    # And the conversation goes on: every later turn is answered the same way.
    assert (await ask(app, channel, "again"))[-1].startswith("echo: again\n\n(Note:")
