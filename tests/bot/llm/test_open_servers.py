"""The client against servers that are not OpenAI's: tool choice, output cap, streaming
that cannot carry tools or brings nothing, usage nobody reported, refused requests.

Each test turns on the fake server's switch for one real server's behaviour
(tests/fakes/openai_server.py) and drives the real client through HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from openai import AsyncOpenAI
from sqlalchemy import select

from bot.app import App
from bot.llm.client import LLM, LLMError, make_client
from bot.llm.repair import IMAGE_PLACEHOLDER
from bot.llm.repetition import CUT_MARK
from memory.db.models import LLMCall
from memory.usage import UsageStore
from tests.fakes.openai_server import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "what time is it?"}]
TOOLS = [{"type": "function", "function": {"name": "clock", "parameters": {"type": "object"}}}]


LLMFor = Callable[..., LLM]


@pytest.fixture
async def llm_for(app: App, fake_llm: FakeOpenAI) -> AsyncIterator[LLMFor]:
    """Clients of the fake server recording into the app's database, closed afterwards."""
    clients: list[AsyncOpenAI] = []

    def make(**options: Any) -> LLM:
        clients.append(make_client(fake_llm.url, "k", timeout=10, max_retries=0))
        return LLM(clients[-1], ["main"], recorder=UsageStore(app.engine), **options)

    yield make
    for client in clients:
        await client.close()


class Shown:
    """What an answer showed while it was written (the chat's stream)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, text: str) -> None:
        self.texts.append(text)


async def _rows(app: App) -> list[LLMCall]:
    async with app.store.session() as session:
        return list((await session.execute(select(LLMCall).order_by(LLMCall.id))).scalars())


async def test_tools_are_offered_with_tool_choice_auto(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.requires_tool_choice = True  # without a choice, tools never reach the model
    fake_llm.add(Reply(tool_calls=[("clock", {})]))
    result = await llm_for().complete(MESSAGES, TOOLS)
    assert [call.name for call in result.tool_calls] == ["clock"]
    assert fake_llm.requests[0]["tool_choice"] == "auto"
    await llm_for().complete(MESSAGES)
    assert "tool_choice" not in fake_llm.requests[1]  # no tools, no choice


async def test_replies_are_capped_by_max_tokens(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    llm = llm_for(max_output_tokens=2048)
    assert llm.max_output_tokens == 2048
    await llm.complete(MESSAGES)
    await llm.complete(MESSAGES, max_tokens=5)
    assert [r["max_tokens"] for r in fake_llm.requests] == [2048, 5]
    assert all("max_completion_tokens" not in r for r in fake_llm.requests)


async def test_a_model_that_refuses_max_tokens_gets_max_completion_tokens(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    def reasoning_model(request: dict[str, Any]) -> Reply:
        if "max_tokens" in request:
            text = "Unsupported parameter: 'max_tokens'. Use 'max_completion_tokens' instead."
            return Reply(status=400, error_message=text)
        return Reply(text="fine")

    fake_llm.responder = reasoning_model
    llm = llm_for(max_output_tokens=1000)
    assert (await llm.complete(MESSAGES)).content == "fine"
    assert (await llm.complete(MESSAGES)).content == "fine"
    caps = [(r.get("max_tokens"), r.get("max_completion_tokens")) for r in fake_llm.requests]
    assert caps == [(1000, None), (None, 1000), (None, 1000)]  # learnt once
    assert [row.ok for row in await _rows(app)] == [False, True, True]


async def test_a_server_that_cannot_stream_tools_is_asked_without_streaming(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.cannot_stream_tools = True
    fake_llm.add(Reply(text="Let me look.", tool_calls=[("clock", {})]), Reply(text="Noon."))
    llm = llm_for(stream_patience=0.5)
    shown = Shown()
    first = await llm.complete(MESSAGES, TOOLS, on_text=shown)
    assert [call.name for call in first.tool_calls] == ["clock"]
    assert shown.texts == ["Let me look."]  # the text still reaches the chat
    second = await llm.complete(MESSAGES, TOOLS, on_text=shown)
    assert second.content == "Noon."
    # Learnt on the first call: the second went unstreamed at once.
    assert [bool(r.get("stream")) for r in fake_llm.requests] == [True, False, False]
    await llm.complete(MESSAGES, on_text=shown)  # without tools it streams as before
    assert fake_llm.requests[-1]["stream"] is True
    assert [row.ok for row in await _rows(app)] == [True, True, True]


@pytest.mark.parametrize(
    ("mode", "streamed"),
    [("on", [True, False, True, False]), ("off", [False, False])],
)
async def test_stream_setting_on_and_off(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI, mode: str, streamed: list[bool]
) -> None:
    """ "on" always tries the stream (never learns it cannot carry tools), "off" never."""
    fake_llm.cannot_stream_tools = True
    fake_llm.ping_seconds = 0.3  # then the stream ends without data
    llm = llm_for(stream=mode, stream_patience=0.1)
    for _ in range(2):
        assert (await llm.complete(MESSAGES, TOOLS, on_text=Shown())).content.startswith("echo")
    assert [bool(r.get("stream")) for r in fake_llm.requests] == streamed


async def test_an_empty_stream_is_asked_again_without_streaming(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.empty_stream = True  # as llama.cpp answers a streamed request over its window
    overflow = "the request exceeds the available context size, try increasing it"
    fake_llm.add(Reply(status=400, error_message=overflow), Reply(text="a real answer"))
    llm = llm_for()
    with pytest.raises(LLMError) as caught:
        await llm.complete(MESSAGES, on_text=Shown())
    assert overflow in caught.value.failure.detail  # the real error, not "empty answer"
    shown = Shown()
    assert (await llm.complete(MESSAGES, on_text=shown)).content == "a real answer"
    assert shown.texts == ["a real answer"]
    assert [bool(r.get("stream")) for r in fake_llm.requests] == [True, False, True, False]


async def test_usage_is_estimated_when_the_server_reports_none(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.no_stream_usage = True
    llm = llm_for()
    long = [{"role": "user", "content": "word " * 400}]
    streamed = await llm.complete(long, on_text=Shown())
    plain = await llm.complete(long)
    assert streamed.usage.estimated and not plain.usage.estimated
    # Near what the server counted for the same request.
    assert abs(streamed.usage.prompt_tokens - plain.usage.prompt_tokens) < 50
    assert streamed.usage.completion_tokens > 0
    rows = await _rows(app)
    assert [(r.estimated, r.prompt_tokens > 400) for r in rows] == [(True, True), (False, True)]


async def test_a_looping_answer_is_cut_short_and_marked(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    loop = "Here is the plan. " + "I will check the weather again. " * 400
    fake_llm.add(Reply(text=loop, chunk_chars=50), Reply(text=loop))
    llm = llm_for()
    shown = Shown()
    streamed = await llm.complete(MESSAGES, on_text=shown)
    plain = await llm.complete(MESSAGES)
    for result in (streamed, plain):
        assert result.content.startswith("Here is the plan. I will check the weather again")
        assert result.content.endswith(CUT_MARK)
        assert len(result.content) < 200
    assert shown.texts[-1] == streamed.content
    assert len(shown.texts) < 40  # it stopped reading long before the end (260 chunks)


async def test_an_answer_with_short_repeats_is_not_cut(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    table = "| day | rain |\n|---|---|\n" + "| Mon | 0 |\n" * 40 + "\nAll dry, " * 3 + "enjoy."
    fake_llm.add(Reply(text=table, chunk_chars=30))
    assert (await llm_for().complete(MESSAGES, on_text=Shown())).content == table


HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is in this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ],
    },
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "clock", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "12:00"},
    {"role": "assistant", "content": "A cat, at noon."},
    {"role": "user", "content": "thanks"},
]


async def test_a_refused_history_is_sent_again_repaired_and_the_person_told(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.reject_images = True  # a model without vision, and a stored picture
    result = await llm_for().complete(HISTORY, TOOLS)
    assert result.content == "echo: thanks"
    assert "without the images and the tool steps" in result.notice
    repaired = fake_llm.requests[1]["messages"]
    assert [m["role"] for m in repaired] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert repaired[1]["content"] == f"what is in this picture?\n{IMAGE_PLACEHOLDER}"
    assert repaired[2]["content"] == "[I called clock with {}]"
    assert repaired[3]["content"] == "[Result of clock:]\n12:00"
    assert fake_llm.requests[1]["tools"] == TOOLS  # the model may still use tools
    assert [(r.ok, r.error is not None) for r in await _rows(app)] == [(False, True), (True, False)]


async def test_a_null_content_is_repaired_without_bothering_the_person(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.reject_null_content = True  # llama-cpp-python: HTTP 500, a validation error
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "again"},
    ]
    result = await llm_for().complete(history)
    assert result.content == "echo: again" and result.notice == ""
    assert fake_llm.requests[1]["messages"][1] == {"role": "assistant", "content": ""}


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=400, error_message="This model's maximum context length is 4096 tokens"),
        Reply(status=500, error_message="CUDA out of memory"),
        Reply(status=401),
    ],
    ids=["overflow", "crash", "key"],
)
async def test_other_refusals_are_not_repaired(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI, reply: Reply
) -> None:
    fake_llm.responder = lambda _request: reply
    with pytest.raises(LLMError):
        await llm_for().complete(HISTORY, TOOLS)
    assert len(fake_llm.requests) == 1


async def test_a_repaired_request_is_sent_only_once(
    llm_for: LLMFor, app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.responder = lambda _request: Reply(status=422, error_message="bad request")
    with pytest.raises(LLMError) as caught:
        await llm_for().complete(HISTORY, TOOLS)
    assert caught.value.failure.kind == "request refused"
    assert len(fake_llm.requests) == 2
