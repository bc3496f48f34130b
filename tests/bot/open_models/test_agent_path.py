"""The agent's whole path against each personality: chat, a tool, compaction, a task,
recall and /usage, through the real app on SQLite (and once on PostgreSQL).

Each test reads what the person saw in the chat; where the server got in the way,
the failure message names the request that went wrong and the fix it waits for.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import App
from tests.bot.harness.background import poll
from tests.bot.harness.memory import say
from tests.bot.open_models.conftest import Running
from tests.bot.open_models.model import (
    TASK_STEPS,
    is_summary_request,
    recalled,
    summary_reached,
    trail,
    turn_requests,
    usage_today,
)
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI

FILLER = "".join(
    f"{i}: the garden needs watering and the shed needs paint. " for i in range(30)
)  # ~500 tok


def tool_answer_ok(answer: str) -> bool:
    return answer.startswith("tool said: ") and str(datetime.now(UTC).year) in answer


async def test_chat_answers(app_and_chat: tuple[App, RecordingChannel], server: FakeOpenAI) -> None:
    app, chat = app_and_chat
    answer = await say(app, chat, "hello there")
    assert answer == "echo: hello there", (
        f"the chat got {answer!r} instead of the model's answer\n  {trail(server)}"
    )


async def test_a_tool_is_called_and_its_result_used(
    app_and_chat: tuple[App, RecordingChannel], server: FakeOpenAI
) -> None:
    app, chat = app_and_chat
    answer = await say(app, chat, "what time is it?")
    assert tool_answer_ok(answer), (
        f"the chat got {answer!r}, not an answer made from current_time's result "
        "(llama.cpp: needs tool_choice sent and a non-streamed fallback: the client fix)"
        f"\n  {trail(server)}"
    )
    assert any(m["role"] == "tool" for m in server.seen[-1]["messages"])


async def test_a_small_window_is_compacted_and_the_summary_reaches_the_model(
    app_and_chat: tuple[App, RecordingChannel], server: FakeOpenAI
) -> None:
    app, chat = app_and_chat
    for n in range(1, 7):
        answer = await say(app, chat, f"part {n}: {FILLER}")
        assert answer.startswith(f"echo: part {n}: "), (
            f"turn {n} of a conversation larger than the server's window failed: the chat "
            f"got {answer[:300]!r} (waits for the window fix: discover the window, compact, "
            f"retry after an overflow)\n  {trail(server)}"
        )
    assert any(is_summary_request(r) for r in server.seen), (
        "nothing was ever compacted (a server that truncates silently, like Ollama, needs "
        "its window discovered: /api/show, /props, /v1/models — the window fix)"
    )
    assert summary_reached(server), (
        "compaction ran but its summary never reached the model "
        "(it must be in the first system message or in user content)"
    )


async def test_a_background_task_runs_to_done_with_tool_calls(
    app_and_chat: tuple[App, RecordingChannel], server: FakeOpenAI
) -> None:
    app, chat = app_and_chat
    started = await say(app, chat, "/task count to three")
    assert "Started task #1" in started, started

    def done() -> bool:
        return any("Task #1 is done" in t or "Task #1 failed" in t for t in chat.texts())

    try:
        await poll(done, within=30)
    except AssertionError:
        raise AssertionError(
            f"task #1 never ended; the chat shows {chat.texts()[-3:]!r} "
            f"(llama.cpp: tools need tool_choice, the client fix)\n  {trail(server)}"
        ) from None
    [result] = [t for t in chat.texts() if "Task #1 is" in t or "Task #1 failed" in t]
    assert result.endswith(f"counted to {TASK_STEPS}"), (
        f"the task ended without its tool calls: {result!r} "
        f"(llama.cpp: tools need tool_choice, the client fix)\n  {trail(server)}"
    )
    task = await app.tasks.store.get(1)
    assert task is not None and task.status == "succeeded" and task.step == TASK_STEPS


async def test_recall_finds_an_earlier_fact_and_it_reaches_the_model(
    open_app: Running, server: FakeOpenAI
) -> None:
    async with open_app(embedding_model="fake-embedding") as (app, chat):
        said = await say(app, chat, "my locker code is 4417", chat="old-chat")
        assert said == "echo: my locker code is 4417", f"{said!r}\n  {trail(server)}"
        answer = await say(app, chat, "what is my locker code again?")
        assert answer == "echo: what is my locker code again?", (
            f"the chat got {answer!r} (llama.cpp gives one embedding per token: the embed "
            f"fix checks vectors and falls back to words)\n  {trail(server)}"
        )
        assert recalled(server, "locker code is 4417"), (
            "the earlier fact was not in the model's view of the latest message: "
            f"{turn_requests(server)[-1]['messages'][-1]['content'][-400:]!r}"
        )


async def test_usage_shows_non_zero_figures(
    app_and_chat: tuple[App, RecordingChannel], server: FakeOpenAI
) -> None:
    app, chat = app_and_chat
    assert await say(app, chat, "hello there") == "echo: hello there", trail(server)
    calls, prompt, completion = usage_today(await say(app, chat, "/usage"))
    assert calls >= 1 and prompt > 0 and completion > 0, (
        f"/usage shows {calls} calls, {prompt} prompt and {completion} completion tokens: "
        "a server that sends no usage in a stream needs an estimate (the client fix)"
    )


@pytest.mark.parametrize("server", ["llama.cpp"], indirect=True)
async def test_the_whole_path_on_postgresql(
    open_app: Running, server: FakeOpenAI, postgres_url: str
) -> None:
    async with open_app(postgres_url) as (app, chat):
        assert await say(app, chat, "hello there") == "echo: hello there", trail(server)
        answer = await say(app, chat, "what time is it?")
        assert tool_answer_ok(answer), f"{answer!r}\n  {trail(server)}"
        calls, prompt, completion = usage_today(await say(app, chat, "/usage"))
        assert calls >= 2 and prompt > 0 and completion > 0, (calls, prompt, completion)
