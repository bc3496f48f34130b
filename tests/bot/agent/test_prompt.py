"""Cache-friendly prompts: each request is the previous one plus new messages, except
the volatile note at the very end (bench/prompt_cache.py measures the share)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.agent.prompt import render_history
from bot.app import App, build_app
from bot.settings import Settings
from memory.conversations import StoredMessage, ToolCallRecord
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, note_of, without_note


def stable_part(request: dict) -> tuple[list, list]:  # type: ignore[type-arg]
    """The tools and messages with the volatile note taken off the person's last message."""
    messages = list(request["messages"])
    assert note_of(request).startswith("Current time")
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    messages[last_user] = {
        **messages[last_user],
        "content": without_note(messages[last_user]["content"]),
    }
    assert [m["role"] for m in messages].count("system") == 1 and messages[0]["role"] == "system"
    return request["tools"], messages


async def test_each_request_extends_the_previous_one(
    app: App, channel: RecordingChannel, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(tool_calls=[("current_time", {})]))
    for text in ("one", "two", "three"):
        await app.sessions.handle(channel.inbound(text))
        await app.sessions.drain()
    fake_llm.add(Reply(tool_calls=[("current_time", {"timezone": "Asia/Tokyo"})]))
    await app.sessions.handle(channel.inbound("four"))
    await app.sessions.drain()

    assert len(fake_llm.requests) == 6
    for before, after in zip(fake_llm.requests, fake_llm.requests[1:], strict=False):
        tools_before, messages_before = stable_part(before)
        tools_after, messages_after = stable_part(after)
        assert tools_after == tools_before
        assert messages_after[: len(messages_before)] == messages_before


async def test_the_system_prompt_does_not_change_with_time_or_user(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    clock = [datetime(2026, 1, 1, 9, 0, tzinfo=UTC)]
    app = build_app(settings, now=lambda: clock[0])
    await app.prepare_database()
    channel = RecordingChannel()
    app.add_channel(channel)
    try:
        await app.sessions.handle(channel.inbound("hi", sender="ana", chat="ana"))
        await app.sessions.drain()
        clock[0] += timedelta(days=40, hours=3)
        await app.sessions.handle(channel.inbound("hi", sender="bo", chat="bo"))
        await app.sessions.drain()
    finally:
        await app.close()
    first, second = fake_llm.requests
    assert first["messages"][0] == second["messages"][0]
    assert first["tools"] == second["tools"]
    assert note_of(first) == "Current time: Thursday 01 January 2026, 09:00 (UTC)."
    assert note_of(second) == "Current time: Tuesday 10 February 2026, 12:00 (UTC)."


def _stored(i: int, role: str, **extra: object) -> StoredMessage:
    return StoredMessage(
        id=i,
        conversation_id=1,
        user_id=1,
        turn=1,
        role=role,
        content=f"m{i}",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        **extra,  # type: ignore[arg-type]
    )


def test_unanswered_tool_calls_get_a_fixed_result_and_stray_results_are_dropped() -> None:
    calls = (ToolCallRecord("a", "current_time", "{}"), ToolCallRecord("b", "current_time", "{}"))
    history = [
        _stored(1, "user"),
        _stored(2, "tool", tool_call_id="zzz"),  # its call is outside the context
        _stored(3, "assistant", tool_calls=calls),
        _stored(4, "tool", tool_call_id="b"),  # "a" never returned: the process died
        _stored(5, "user"),
    ]
    rendered = render_history(history)
    assert [(m["role"], m.get("tool_call_id")) for m in rendered] == [
        ("user", None),
        ("assistant", None),
        ("tool", "b"),
        ("tool", "a"),
        ("user", None),
    ]
    assert rendered[3]["content"].startswith("Error: this tool call was interrupted")
    assert render_history(history) == rendered  # the same bytes every time


def test_system_prompt_and_tool_schemas_fit_2000_tokens(settings: Settings) -> None:
    """Every request carries these: they must stay small (estimated at 4 characters a
    token, as sent: compact JSON). Adding a tool means making room for it."""
    import json

    from bot.agent.prompt import estimate_tokens

    app = build_app(settings)
    fixed = json.dumps(
        {"tools": app.tools.schemas(), "system": app.agent._prompt.system_message},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert estimate_tokens(fixed) <= 2000
