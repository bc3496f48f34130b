"""The agent loop through the session manager: tools, their failures, and the step budget."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from bot.app import App, build_app
from bot.errors import ToolError
from bot.tools import ToolContext, tool
from memory.db.models import Message
from tests.bot.conftest import AppMaker
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply


class EchoArgs(BaseModel):
    text: str
    times: int = 1


@tool
async def shout(ctx: ToolContext, args: EchoArgs) -> str:
    """Repeat text in capitals."""
    return args.text.upper() * args.times


class NoArgs(BaseModel):
    pass


@tool
async def broken(ctx: ToolContext, args: NoArgs) -> str:
    """Always fails with a bug."""
    raise RuntimeError("secret internal detail")


@tool
async def refuses(ctx: ToolContext, args: NoArgs) -> str:
    """Always fails in a way the model should see."""
    raise ToolError("the calendar is read-only")


@tool
async def sleepy(ctx: ToolContext, args: NoArgs) -> str:
    """Takes forever."""
    await asyncio.sleep(30)
    return "never"


@pytest.fixture
def tools_app(app: App) -> App:
    for extra in (shout, broken, refuses, sleepy):
        app.tools.add(extra)
    app.tools.timeout = 0.5
    app.tools.output_chars = 1_000
    return app


def tool_messages(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def ask(app: App, channel: RecordingChannel, text: str) -> list[str]:
    await app.sessions.handle(channel.inbound(text))
    await app.sessions.drain()
    return channel.texts()


async def test_tool_call_result_goes_back_to_the_model(
    tools_app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(tool_calls=[("current_time", {"timezone": "Asia/Tokyo"})]))
    replies = await ask(tools_app, channel, "what time is it in Tokyo?")
    assert len(fake_llm.requests) == 2
    [result] = tool_messages(fake_llm.requests[1])
    assert "Asia/Tokyo" in result and "UTC+0900" in result
    assert replies == [f"tool said: {result}"]
    names = [t["function"]["name"] for t in fake_llm.requests[0]["tools"]]
    assert names == sorted(names) and "current_time" in names


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (("shout", '{"text": "hi"'), "not valid JSON"),
        (("shout", {"times": "many"}), "invalid arguments: text: Field required"),
        (("launch_rockets", {}), "no tool named 'launch_rockets'. Available: "),
        (("broken", {}), "failed unexpectedly"),
        (("refuses", {}), "Error: the calendar is read-only"),
        (("sleepy", {}), "took longer than 0.5 s"),
        (("current_time", {"timezone": "Mars/Olympus"}), "unknown time zone 'Mars/Olympus'"),
    ],
    ids=["bad-json", "invalid-args", "unknown-tool", "crash", "tool-error", "timeout", "bad-zone"],
)
async def test_tool_failures_are_returned_to_the_model(
    tools_app: App,
    channel: RecordingChannel,
    fake_llm: FakeOpenAI,
    call: tuple[str, Any],
    expected: str,
) -> None:
    fake_llm.add(Reply(tool_calls=[call]))
    replies = await ask(tools_app, channel, "do it")
    [result] = tool_messages(fake_llm.requests[1])
    assert expected in result
    assert "secret internal detail" not in result
    assert replies == [f"tool said: {result[:200]}"]


async def test_huge_tool_output_is_capped(
    tools_app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(tool_calls=[("shout", {"text": "abc", "times": 100_000})]))
    await ask(tools_app, channel, "shout a lot")
    [result] = tool_messages(fake_llm.requests[1])
    assert result.startswith("ABCABC")
    assert len(result) < 1_200
    assert "[output truncated: 300000 characters, showing the first 1000]" in result


async def test_a_model_that_loops_on_tools_is_stopped_by_the_step_budget(
    tools_app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    steps = tools_app.settings.core.max_tool_steps
    counter = iter(range(1000))

    def loop_forever(request: dict[str, Any]) -> Reply:
        if request.get("tool_choice") == "none":
            return Reply(text="Here is what I found so far.")
        return Reply(tool_calls=[("shout", {"text": f"step {next(counter)}"})])

    fake_llm.responder = loop_forever
    replies = await ask(tools_app, channel, "keep going")
    assert replies == ["Here is what I found so far."]
    assert len(fake_llm.requests) == steps + 1
    assert fake_llm.requests[-1]["tool_choice"] == "none"
    # The same tool list on the last request: the cached prefix still matches.
    assert fake_llm.requests[-1]["tools"] == fake_llm.requests[0]["tools"]


async def test_identical_repeated_calls_are_cut_short(
    tools_app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    same = Reply(tool_calls=[("shout", {"text": "again"})])
    fake_llm.add(same, same, same)
    await ask(tools_app, channel, "repeat")
    results = tool_messages(fake_llm.requests[3])
    assert results[:2] == ["AGAIN", "AGAIN"]
    assert "already called 2 times" in results[2]


async def test_steps_are_stored_in_the_order_the_model_saw_them(
    tools_app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="Let me check.", tool_calls=[("shout", {"text": "x"})]))
    await ask(tools_app, channel, "go")
    conversation = await tools_app.store.open_conversation(
        "test", "c1", "", is_direct=True, owner_id=None
    )
    stored = (await tools_app.store.load_context(conversation.id)).messages
    assert [(m.role, m.turn) for m in stored] == [
        ("user", 1),
        ("assistant", 1),
        ("tool", 1),
        ("assistant", 1),
    ]
    assert stored[1].content == "Let me check."
    assert stored[1].tool_calls[0].name == "shout"
    assert stored[2].tool_call_id == stored[1].tool_calls[0].id


async def test_every_model_call_of_a_turn_is_recorded_with_its_usage(
    tools_app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(tool_calls=[("shout", {"text": "x"})]))
    await ask(tools_app, channel, "go")
    from sqlalchemy import select

    from memory.db.models import LLMCall

    async with tools_app.store.session() as session:
        rows = (await session.execute(select(LLMCall).order_by(LLMCall.id))).scalars().all()
    assert [(r.ok, r.purpose) for r in rows] == [(True, "turn"), (True, "turn")]
    assert all(r.conversation_id is not None and r.user_id is not None for r in rows)
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in rows)
    assert rows[1].cached_tokens > 0  # the second step repeats the first one's prompt


async def test_a_message_too_large_for_the_window_is_set_aside_and_the_chat_goes_on(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app(context_tokens=2_000)
    huge = "lorem ipsum dolor sit amet " * 800  # ~21,600 characters, ~5,400 tokens
    await app.sessions.handle(channel.inbound(huge))
    await app.sessions.drain()
    [reply] = channel.texts()
    assert reply.startswith("Your message is too long for me to read: about 5,")
    assert "at most about" in reply and "set it aside" in reply
    assert fake_llm.requests == []  # no model call could have answered it

    await app.sessions.handle(channel.inbound("sorry, here is the short version"))
    await app.sessions.drain()
    assert channel.texts()[-1] == "echo: sorry, here is the short version"
    sent = json.dumps(fake_llm.requests[-1])
    assert "lorem ipsum" not in sent and "too long for me to read" in sent
    async with app.store.session() as session:
        stored = await session.execute(select(Message.content).where(Message.role == "user"))
        assert huge in list(stored.scalars())  # kept, intact


async def test_a_step_whose_tools_ran_waits_for_a_locked_database_instead_of_repeating(
    fake_llm: FakeOpenAI, sqlite_url: str, tmp_path: Path
) -> None:
    """Another process holds SQLite's write lock longer than our wait while a tool runs:
    the step is stored once the lock is gone, so the tool is not run again later."""
    runs: list[str] = []
    path = sqlite_url.removeprefix("sqlite:///")

    @tool
    async def send_invoice(ctx: ToolContext, args: NoArgs) -> str:
        """Sends the invoice (not something to do twice)."""
        runs.append("sent")
        locker = sqlite3.connect(path, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        threading.Timer(12.0, lambda: (locker.rollback(), locker.close())).start()
        return "invoice sent"

    def model(request: dict[str, Any]) -> Reply:
        if any(m["role"] == "tool" for m in request["messages"]):
            return Reply(text="The invoice went out.")
        return Reply(tool_calls=[("send_invoice", {})])

    fake_llm.responder = model
    app = build_app(make_settings(fake_llm, sqlite_url, tmp_path / "data"))
    await app.prepare_database()
    app.tools.add(send_invoice)
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        await ask(app, channel, "send the invoice to Ana")
        await ask(app, channel, "thanks! anything else?")
    finally:
        await app.close()
    assert runs == ["sent"]
    assert channel.texts() == ["The invoice went out.", "The invoice went out."]
