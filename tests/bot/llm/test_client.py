"""The model client against the fake OpenAI-compatible server, through the real openai client."""

from __future__ import annotations

import socket

import openai
import pytest

from bot.app import App
from bot.llm.client import LLM, CallMeta, LLMError, make_client, read_usage
from bot.llm.failures import judge
from memory.usage import UsageStore
from tests.fakes.openai_server import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "hi"}]


def llm_for(fake: FakeOpenAI, app: App, *models: str, retries: int = 0, timeout: float = 10) -> LLM:
    client = make_client(fake.url, "k", timeout=timeout, max_retries=retries)
    return LLM(client, list(models) or ["main"], recorder=UsageStore(app.engine))


async def _calls(app: App) -> list[tuple[str, bool, int, int, int]]:
    from sqlalchemy import select

    from memory.db.models import LLMCall

    async with app.store.session() as session:
        rows = (await session.execute(select(LLMCall).order_by(LLMCall.id))).scalars().all()
        return [
            (r.model, r.ok, r.prompt_tokens, r.completion_tokens, r.cached_tokens) for r in rows
        ]


async def test_plain_completion_records_usage(app: App, fake_llm: FakeOpenAI) -> None:
    llm = llm_for(fake_llm, app)
    result = await llm.complete(MESSAGES, meta=CallMeta("turn"))
    assert result.content == "echo: hi"
    assert result.tool_calls == ()
    assert result.usage.prompt_tokens > 0
    calls = await _calls(app)
    assert calls == [("main", True, result.usage.prompt_tokens, result.usage.completion_tokens, 0)]


async def test_streamed_text_arrives_in_growing_pieces(app: App, fake_llm: FakeOpenAI) -> None:
    fake_llm.add(Reply(text="The quick brown fox jumps over the lazy dog", chunk_chars=5))
    seen: list[str] = []

    async def on_text(text: str) -> None:
        seen.append(text)

    result = await llm_for(fake_llm, app).complete(MESSAGES, on_text=on_text)
    assert result.content == "The quick brown fox jumps over the lazy dog"
    assert len(seen) == 9
    assert seen[0] == "The q" and seen[-1] == result.content
    assert fake_llm.requests[0]["stream_options"] == {"include_usage": True}
    assert result.usage.prompt_tokens > 0  # the usage chunk after the last choice


async def test_streamed_tool_calls_are_assembled_from_fragments(
    app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(
        Reply(
            tool_calls=[("current_time", {"timezone": "Europe/Paris"}), ("other", "{}")],
            chunk_chars=3,
        )
    )

    async def ignore(_: str) -> None:
        return None

    result = await llm_for(fake_llm, app).complete(MESSAGES, on_text=ignore)
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("current_time", '{"timezone": "Europe/Paris"}'),
        ("other", "{}"),
    ]
    assert all(c.id.startswith("call_") for c in result.tool_calls)


async def test_cached_tokens_are_read_from_the_second_request(
    app: App, fake_llm: FakeOpenAI
) -> None:
    llm = llm_for(fake_llm, app)
    long_prompt = [{"role": "system", "content": "x" * 4000}, *MESSAGES]
    await llm.complete(long_prompt)
    second = await llm.complete(long_prompt + [{"role": "user", "content": "again"}])
    assert second.usage.cached_tokens >= 1000
    assert (await _calls(app))[1][4] == second.usage.cached_tokens


def test_deepseek_cache_fields_are_read() -> None:
    usage = {
        "prompt_tokens": 100,
        "completion_tokens": 5,
        "total_tokens": 105,
        "prompt_cache_hit_tokens": 64,
        "prompt_cache_miss_tokens": 36,
    }
    assert read_usage(usage).cached_tokens == 64
    assert read_usage(None).prompt_tokens == 0


async def test_rate_limit_is_retried_honouring_retry_after(app: App, fake_llm: FakeOpenAI) -> None:
    fake_llm.add(Reply(status=429, headers={"retry-after": "0.2"}), Reply(text="after the wait"))
    result = await llm_for(fake_llm, app, retries=2).complete(MESSAGES)
    assert result.content == "after the wait"
    assert len(fake_llm.requests) == 2


async def test_failing_model_falls_back_to_the_next(app: App, fake_llm: FakeOpenAI) -> None:
    fake_llm.add(Reply(status=500), Reply(text="from the fallback"))
    result = await llm_for(fake_llm, app, "main", "backup").complete(MESSAGES)
    assert result.content == "from the fallback"
    assert [r["model"] for r in fake_llm.requests] == ["main", "backup"]
    calls = await _calls(app)
    assert [(c[0], c[1]) for c in calls] == [("main", False), ("backup", True)]


@pytest.mark.parametrize(
    ("reply", "kind", "user_message"),
    [
        (Reply(status=500), "server error", "internal error (HTTP 500)"),
        (Reply(status=503), "server error", "internal error (HTTP 503)"),
        (Reply(status=401), "key rejected", "rejected our API key (HTTP 401)"),
        (Reply(status=403), "key rejected", "rejected our API key (HTTP 403)"),
        (Reply(status=429), "rate limited", "rate-limiting us"),
        (
            Reply(
                status=429,
                error_code="insufficient_quota",
                error_message="You exceeded your current quota, please check your plan.",
            ),
            "quota",
            "out of quota or credit",
        ),
        (Reply(status=402, error_message="Insufficient Balance"), "quota", "out of quota"),
        (Reply(status=400, error_message="bad tool schema"), "request refused", "HTTP 400"),
        (Reply(raw_body="<html>definitely not json"), "bad answer", "could not read"),
        (Reply(raw_body='{"choices": []}'), "bad answer", "could not read"),
        (Reply(raw_body='{"choices": [{"message": "nope"}]}'), "bad answer", "could not read"),
        (Reply(raw_body="[1, 2, 3]"), "bad answer", "could not read"),
        (Reply(text="", tool_calls=[]), "bad answer", "could not read"),
        (Reply(delay=2.0), "timeout", "took longer than 0.5 s to answer"),
    ],
    ids=[
        "500",
        "503",
        "401",
        "403",
        "429",
        "quota",
        "402",
        "400",
        "garbage",
        "no-choices",
        "bad-message",
        "list",
        "empty",
        "timeout",
    ],
)
async def test_failures_are_told_apart(
    app: App, fake_llm: FakeOpenAI, reply: Reply, kind: str, user_message: str
) -> None:
    fake_llm.responder = lambda _request: reply
    llm = llm_for(fake_llm, app, "main", "backup", timeout=0.5)
    with pytest.raises(LLMError) as caught:
        await llm.complete(MESSAGES)
    assert caught.value.failure.kind == kind
    assert user_message in caught.value.user_message
    calls = await _calls(app)
    assert [(c[0], c[1]) for c in calls] == [("main", False), ("backup", False)]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_is_unreachable_not_slow(app: App) -> None:
    port = _closed_port()
    client = make_client(f"http://127.0.0.1:{port}/v1", "k", timeout=30, max_retries=1)
    llm = LLM(client, ["main"], recorder=UsageStore(app.engine))
    with pytest.raises(LLMError) as caught:
        await llm.complete(MESSAGES)
    failure = caught.value.failure
    assert failure.kind == "unreachable"
    assert caught.value.user_message == (
        f"I can't reach the model service at http://127.0.0.1:{port}/v1 (connection refused). "
        "Is the model server (Ollama, vLLM…) running?"
    )
    assert "OPENAI_BASE_URL" in failure.fix


async def test_ollama_is_named_only_for_its_local_port() -> None:
    """A real refused connection (to a free port, so nothing on this machine can answer),
    judged as a call to Ollama's usual address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}/v1", None, timeout=30, max_retries=0)
    with pytest.raises(openai.APIConnectionError) as caught:
        body = {"model": "llama3", "messages": MESSAGES}
        await client.post("/chat/completions", body=body, cast_to=object)
    refused = caught.value
    await client.close()
    as_ollama = judge(refused, base_url="http://localhost:11434/v1", model="llama3", timeout=30)
    assert as_ollama.user_message.endswith("(connection refused). Is Ollama running?")
    elsewhere = judge(refused, base_url="https://api.example.com/v1", model="m", timeout=30)
    assert "running?" not in elsewhere.user_message


async def test_an_unknown_host_names_dns_and_no_local_server() -> None:
    client = make_client("https://models.example.invalid/v1", "k", timeout=30, max_retries=0)
    with pytest.raises(LLMError) as caught:
        await LLM(client, ["main"]).complete(MESSAGES)
    assert caught.value.failure.kind == "unreachable"
    message = caught.value.user_message
    assert "DNS does not know the host models.example.invalid" in message
    assert "running" not in message  # not a local server: no Ollama hint


async def test_a_missing_model_lists_what_the_endpoint_offers(
    app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.models = ["llama3.2", "qwen2.5"]
    fake_llm.responder = lambda _request: Reply(status=404, error_message="model not found")
    with pytest.raises(LLMError) as caught:
        await llm_for(fake_llm, app, "lama3").complete(MESSAGES)
    failure = caught.value.failure
    assert failure.kind == "model not found"
    assert caught.value.user_message == (
        f"The model service at {fake_llm.url} has no model named 'lama3'. "
        "It offers: llama3.2, qwen2.5."
    )
    assert failure.fix == "set CLAWLING_MODEL to one of: llama3.2, qwen2.5"


async def test_a_missing_model_without_a_listing_points_at_the_url(
    app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.models = None
    fake_llm.responder = lambda _request: Reply(status=404)
    with pytest.raises(LLMError) as caught:
        await llm_for(fake_llm, app, "lama3").complete(MESSAGES)
    assert "It offers" not in caught.value.user_message
    assert "OPENAI_BASE_URL points at the API" in caught.value.failure.fix


async def test_streaming_garbage_is_an_llm_error(app: App, fake_llm: FakeOpenAI) -> None:
    fake_llm.add(Reply(raw_body="data: {not json}\n\n"))

    async def ignore(_: str) -> None:
        return None

    with pytest.raises(LLMError):
        await llm_for(fake_llm, app).complete(MESSAGES, on_text=ignore)


async def test_request_bodies_carry_every_part_when_kept_parts_change(
    app: App, fake_llm: FakeOpenAI
) -> None:
    """The system prompt and tool list are encoded once and kept by identity: each
    request must still carry exactly what was asked, when they stay and when they change."""
    llm = llm_for(fake_llm, app)
    system = {"role": "system", "content": "Be brief. «ünïcode» stays as it is."}
    tools = [{"type": "function", "function": {"name": "clock", "parameters": {}}}]
    asked = [
        ([system, *MESSAGES], tools),
        ([system, *MESSAGES, {"role": "assistant", "content": "hello"}], tools),
        ([system, {"role": "user", "content": "again"}], tools),
        ([{"role": "system", "content": "Another prompt."}, *MESSAGES], tools[:1]),
        (MESSAGES, None),
    ]
    for messages, tool_list in asked:
        await llm.complete(messages, tool_list)
    for (messages, tool_list), seen in zip(asked, fake_llm.requests, strict=True):
        assert seen["messages"] == messages
        assert seen.get("tools") == tool_list
        assert seen["model"] == "main"


async def test_a_stream_dropped_before_any_data_is_asked_again_unstreamed(
    app: App, fake_llm: FakeOpenAI
) -> None:
    """llama-cpp-python's server answers 200, then raises inside the stream (an overflow,
    say) and drops the connection: asked again without streaming, the real answer (or
    error) comes back through the plain path."""
    fake_llm.add(Reply(text="never sent", cut_after=0), Reply(text="the whole answer"))
    shown: list[str] = []

    async def show(text: str) -> None:
        shown.append(text)

    result = await llm_for(fake_llm, app).complete(MESSAGES, on_text=show)
    assert result.content == "the whole answer"
    assert shown == ["the whole answer"]
    assert [bool(r.get("stream")) for r in fake_llm.requests] == [True, False]


async def test_a_connection_lost_mid_answer_is_a_model_failure(
    app: App, fake_llm: FakeOpenAI
) -> None:
    fake_llm.add(Reply(text="a long answer that never ends", chunk_chars=2, cut_after=3))
    shown: list[str] = []

    async def show(text: str) -> None:
        shown.append(text)

    with pytest.raises(LLMError) as caught:
        await llm_for(fake_llm, app).complete(MESSAGES, on_text=show)
    assert shown == ["a ", "a lo"]  # it had started
    assert caught.value.failure.kind == "connection lost"
    assert caught.value.user_message == (
        f"The connection to the model service at {fake_llm.url} broke off before the answer "
        "was complete; try again."
    )
    assert [(c[0], c[1]) for c in await _calls(app)] == [("main", False)]
