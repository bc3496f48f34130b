"""Conversations against small model windows: an overflow is compacted and answered (never
a stuck conversation), the window is remembered across a restart, every request fits a
window stated by the endpoint or a setting, tools are shed rather than failing, and
estimates follow the tokens the endpoint reports."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App
from memory.db.models import ModelWindow
from tests.bot.conftest import AppMaker
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo, last_user_text, user_texts

WORDS = " ".join(f"word{i}" for i in range(200))  # about 380 tokens, never repeating


async def chat(app: App, channel: RecordingChannel, text: str) -> str:
    await app.sessions.handle(channel.inbound(text))
    await app.sessions.drain()
    return channel.texts()[-1]


def turn_requests(fake: FakeOpenAI) -> list[dict[str, Any]]:
    """Requests of conversation turns (compaction's summarising calls have no tools)."""
    return [r for r in fake.requests if r.get("tools")]


async def remembered(app: App) -> list[tuple[str, int | None, str, float | None]]:
    async with app.store.session() as session:
        rows = (await session.execute(select(ModelWindow))).scalars().all()
        return [(r.model, r.context_tokens, r.source, r.token_ratio) for r in rows]


# Turns stream; llama-cpp-python's server answers an over-window stream with an empty 200,
# which the client asks again without streaming to see its 400 (tests/bot/llm/test_window.py
# checks that 400 is read, window included).
@pytest.mark.parametrize("style", ["openai", "vllm", "llama_cpp", "llama_cpp_python"])
async def test_a_conversation_over_the_window_is_compacted_and_answered(
    make_app: AppMaker, fake_llm: FakeOpenAI, style: str
) -> None:
    fake_llm.context_window, fake_llm.overflow_style = 3000, style
    app, channel = await make_app()
    for i in range(6):
        text = f"message {i}: {WORDS}"
        assert await chat(app, channel, text) == f"echo: {text.strip()}"
    # Found out once, from the error's text; then it fits. llama-cpp-python answers the
    # streamed request with an empty stream first, and the unstreamed retry with the error.
    assert fake_llm.overflows == (2 if style == "llama_cpp_python" else 1)
    assert [m for m, *_ in await remembered(app)] == ["fake-model"]
    last = turn_requests(fake_llm)[-1]
    assert last["max_tokens"] == 750  # a quarter of the window for the reply
    # The oldest turns were compacted: in the summary, no longer in the history.
    assert not any("message 0" in str(text) for text in user_texts(last))
    assert "message 0" in last["messages"][0]["content"]


async def test_the_learnt_window_survives_a_restart(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    fake_llm.context_window, fake_llm.overflow_style = 3000, "openai"
    app, channel = await make_app()
    for i in range(3):
        await chat(app, channel, f"message {i}: {WORDS}")
    assert fake_llm.overflows == 1
    assert [(m, t, s) for m, t, s, _ in await remembered(app)] == [("fake-model", 3000, "error")]
    await app.close()

    again, channel = await make_app()  # same database
    sent = len(fake_llm.requests)
    assert await chat(again, channel, "and now?") == "echo: and now?"
    assert fake_llm.overflows == 1  # no request over the window after the restart
    # The reply's room is planned in the learnt window: at most a quarter of it.
    assert fake_llm.requests[sent]["max_tokens"] <= 750


async def test_a_2k_window_with_all_tools_still_answers_and_uses_a_tool(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    fake_llm.context_window = 2048
    fake_llm.models_fields = {"max_model_len": 2048}
    app, channel = await make_app()
    fake_llm.add(Reply(tool_calls=[("current_time", {"timezone": "Asia/Tokyo"})]))
    answer = await chat(app, channel, "what time is it in Tokyo?")
    assert answer.startswith("tool said:") and "Asia/Tokyo" in answer
    for i in range(4):
        assert await chat(app, channel, f"and {i}? {WORDS[:600]}") == (
            f"echo: and {i}? {WORDS[:600].strip()}"
        )
    assert fake_llm.overflows == 0
    sent = [t["function"]["name"] for t in turn_requests(fake_llm)[0]["tools"]]
    assert "current_time" in sent and "remember" in sent
    assert len(sent) < len(app.tools.schemas())  # the rarely used ones were left out
    assert sent == sorted(sent)
    # The same shortened list in every request: the cached prefix holds.
    assert all(r["tools"] == turn_requests(fake_llm)[0]["tools"] for r in turn_requests(fake_llm))


async def test_the_budget_counts_tools_and_the_reply(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    """The window is set per model; the server holds to it strictly. Were the tool
    schemas (about 1,700 tokens) or max_tokens left out of the sums, requests would go
    over as the conversation grows."""
    fake_llm.context_window = 4096
    fake_llm.models_fields = {"max_model_len": 100_000}  # the setting wins over this
    app, channel = await make_app(model_context_tokens={"fake-model": 4096})
    for i in range(12):
        text = f"turn {i}: {WORDS[:800]}"
        assert await chat(app, channel, text) == f"echo: {text.strip()}"
    assert fake_llm.overflows == 0
    assert fake_llm.info_requests == []  # a set window is not asked for
    requests = turn_requests(fake_llm)
    assert all(r["max_tokens"] == 1024 for r in requests)
    assert len(requests[-1]["tools"]) == len(app.tools.schemas())  # all fit in 4k


async def test_estimates_follow_the_tokens_the_endpoint_reports(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    """A tokenizer that counts 2.5 times our estimate (as for German or code on small
    models): after the first refusal the ratio rises, later requests fit, and the ratio
    learnt from the reported prompt_tokens is remembered."""
    fake_llm.context_window, fake_llm.token_scale = 8192, 2.5
    fake_llm.props = {"default_generation_settings": {"n_ctx": 8192}}
    app, channel = await make_app()
    for i in range(8):
        text = f"turn {i}: {WORDS[:600]}"
        assert await chat(app, channel, text) == f"echo: {text.strip()}"
    assert fake_llm.overflows <= 1
    [(model, tokens, source, ratio)] = await remembered(app)
    assert (model, tokens, source) == ("fake-model", 8192, "props")
    assert ratio is not None and ratio > 1.8


async def test_the_same_tool_list_when_the_window_is_large(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app()
    await chat(app, channel, "hello")
    [request] = fake_llm.requests
    assert request["tools"] == app.tools.schemas()
    assert request["max_tokens"] == 2048  # the usual cap, sent by the client
    assert last_user_text(request) == "hello"


async def test_an_overflow_that_states_no_window_still_recovers(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    app, channel = await make_app()
    await chat(app, channel, f"first: {WORDS}")
    fake_llm.add(Reply(status=400, error_code="context_length_exceeded", error_message="too long"))
    assert await chat(app, channel, "second") == "echo: second"  # asked again, answered
    [(model, tokens, source, _)] = await remembered(app)
    assert (model, source) == ("fake-model", "error") and tokens is not None
    assert tokens < 32_000  # smaller than what was sent
    assert await chat(app, channel, "third") == "echo: third"


# About 300 Chinese characters, never repeating: about 300 tokens to a real tokenizer,
# which characters ÷ 4 took for 75.
CHINESE = "".join(chr(0x4E00 + 37 * i) for i in range(300))


async def test_a_chinese_conversation_is_budgeted_at_its_real_size(
    make_app: AppMaker, fake_llm: FakeOpenAI
) -> None:
    """The server counts a token per Chinese character, as real tokenizers do; estimates
    of a quarter token per character sent requests over the window until an overflow
    taught a ratio. Weighed by script, every request fits from the first."""
    fake_llm.context_window, fake_llm.cjk_tokens = 4096, True
    # Summaries as short as a model makes them (the fake's echo would repeat everything).
    fake_llm.responder = lambda request: (
        echo(request) if request.get("tools") else Reply(text='{"summary": "聊了很多。"}')
    )
    app, channel = await make_app(model_context_tokens={"fake-model": 4096})
    for i in range(12):
        text = f"第{i}条：{CHINESE}"
        assert await chat(app, channel, text) == f"echo: {text}"
    assert fake_llm.overflows == 0
    # The oldest turns were compacted to make room.
    last = turn_requests(fake_llm)[-1]
    assert not any("第0条" in str(text) for text in user_texts(last))
    assert "聊了很多。" in last["messages"][0]["content"]
