"""What the model endpoint supports, for `clawling doctor`: one line per fact.

Servers that speak the OpenAI API differ in what they do with it (llama-cpp-python
treats tools as "none" unless `tool_choice` is sent, cannot stream a tool call, and
ignores `stream_options`), so doctor asks. Each probe is one small request (a few
tokens at most), without retries, limited to PROBE_SECONDS, and stores nothing. Facts
are notes: the assistant still works without them, only less well. The one FAIL is a
setting that cannot work: embeddings configured but answered in the wrong shape.

Each entry of FACTS is one line of the report, in order; a new fact about the endpoint
is one more function there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from openai import AsyncStream

from bot.app import App
from bot.cli.verdict import FAIL, NOTE, OK, Check
from bot.llm.client import LLM
from bot.llm.embeddings import SETTING
from bot.llm.window import ModelWindows
from memory.retrieval.vectorcheck import BadVectors

PROBE_SECONDS = 20.0
PROBE_TOKENS = 48  # room for one call's name and empty arguments
TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The current time.",
        "parameters": {"type": "object", "properties": {}},
    },
}
ASK_TOOL = [{"role": "user", "content": "What time is it? Call get_time to find out."}]
ASK_TEXT = [{"role": "user", "content": "Reply with: ok"}]
EMBED_TEXTS = ["clawling doctor", "a second, longer text to check the embedding shape"]


@dataclass
class Endpoint:
    """What the probes share: the app, and what earlier probes found."""

    app: App
    database_ok: bool
    tool_choice: str | None = None  # the tool_choice that brought a tool call back

    @property
    def model(self) -> str:
        return self.app.settings.models[0]

    def failure(self, exc: BaseException) -> str:
        """What a failed probe means, in one line."""
        return LLM(self.app.client, self.app.settings.models).judge(exc, self.model).detail

    async def post(self, body: dict[str, Any], *, stream: bool) -> Any:
        """One chat completion request, as sent: no retries, the probe's time limit."""
        return await self.app.client.post(
            "/chat/completions",
            body={"model": self.model, **body, **({"stream": True} if stream else {})},
            cast_to=object,
            stream=stream,
            stream_cls=AsyncStream[object],
            options={"max_retries": 0, "timeout": PROBE_SECONDS},
        )


def _tool_calls(message: Any) -> bool:
    return isinstance(message, dict) and bool(message.get("tool_calls"))


def _first_choice(answer: Any) -> dict[str, Any]:
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}


async def _calls_tool(endpoint: Endpoint, tool_choice: str) -> bool:
    body = {"messages": ASK_TOOL, "tools": [TOOL], "tool_choice": tool_choice}
    answer = await endpoint.post({**body, "max_tokens": PROBE_TOKENS}, stream=False)
    return _tool_calls(_first_choice(answer).get("message"))


async def tool_calling(endpoint: Endpoint) -> Check | None:
    """Does a tool call come back, with tool_choice "auto", else "required"?"""
    name = "tool calling"
    try:
        async with asyncio.timeout(2 * PROBE_SECONDS):
            for choice in ("auto", "required"):
                if await _calls_tool(endpoint, choice):
                    endpoint.tool_choice = choice
                    break
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return Check(name, NOTE, f"a request with a tool failed: {endpoint.failure(exc)}")
    if endpoint.tool_choice == "auto":
        return Check(name, NOTE, 'a tool call came back (tool_choice "auto")')
    if endpoint.tool_choice == "required":
        return Check(
            name,
            NOTE,
            'a tool call came back only with tool_choice "required"; with "auto" the model '
            "answered in text, so it may seldom use its tools",
        )
    return Check(
        name,
        NOTE,
        'no tool call came back with tool_choice "auto" or "required": the assistant can '
        "talk with this model but not use its tools",
    )


async def tool_calls_streamed(endpoint: Endpoint) -> Check | None:
    """Does the same request, streamed, bring the tool call in the stream?"""
    name = "tool calls streamed"
    if endpoint.tool_choice is None:
        return Check(name, NOTE, "not probed: no tool call came back without streaming")
    body = {"messages": ASK_TOOL, "tools": [TOOL], "tool_choice": endpoint.tool_choice}
    chunks = 0
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            stream = await endpoint.post({**body, "max_tokens": PROBE_TOKENS}, stream=True)
            async with stream:
                async for chunk in stream:
                    chunks += 1
                    if _tool_calls(_first_choice(chunk).get("delta")):
                        return Check(name, NOTE, "the tool call arrived in the stream")
    except TimeoutError:
        return Check(
            name,
            NOTE,
            f"no tool call within {PROBE_SECONDS:g} s of streaming ({chunks} chunks, "
            "the rest keep-alives or nothing)",
        )
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return Check(name, NOTE, f"a streamed request with a tool failed: {endpoint.failure(exc)}")
    return Check(
        name,
        NOTE,
        f"a streamed request brought no tool call: the stream ended after {chunks} chunks, "
        "the rest keep-alives or nothing",
    )


async def usage_in_streams(endpoint: Endpoint) -> Check | None:
    """Does a streamed answer report its usage (stream_options.include_usage)?"""
    name = "usage in streams"
    body = {
        "messages": ASK_TEXT,
        "max_tokens": 5,
        "stream_options": {"include_usage": True},
    }
    usage = False
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            stream = await endpoint.post(body, stream=True)
            async with stream:
                async for chunk in stream:
                    usage = usage or (isinstance(chunk, dict) and bool(chunk.get("usage")))
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return Check(name, NOTE, f"a streamed request failed: {endpoint.failure(exc)}")
    if usage:
        return Check(name, NOTE, "streamed answers report their token usage")
    return Check(name, NOTE, "streamed answers report no token usage (stream_options is ignored)")


async def embeddings(endpoint: Endpoint) -> Check | None:
    """With embeddings configured: one vector per text, of the dimension stored?"""
    vectors = endpoint.app.memory.vectors
    if vectors is None:
        return None
    name = "embeddings"
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            matrix = await vectors.check(EMBED_TEXTS, stored=endpoint.database_ok)
    except BadVectors as exc:
        return Check(name, FAIL, exc.problem, exc.fix)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        # The embedder words its own failures (bot/llm/embeddings.py).
        what = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            what = f"no answer within {PROBE_SECONDS:g} s"
        return Check(
            name,
            FAIL,
            f"{vectors.setting}: {what}",
            f"start the embedding server, or correct {SETTING} (or unset it)",
        )
    return Check(name, OK, f"{vectors.setting}: one vector of {matrix.shape[1]} numbers per text")


Fact = Callable[[Endpoint], Awaitable[Check | None]]


async def context_window(endpoint: Endpoint) -> Check:
    """The model's context window and where it comes from (a setting, or what the endpoint
    says: /models, llama.cpp's /props, Ollama's /api/show); nothing is remembered here."""
    core = endpoint.app.settings.core
    llm = LLM(endpoint.app.client, endpoint.app.settings.models)
    windows = ModelWindows(
        str(endpoint.app.client.base_url),
        llm.fetch_json,
        None,
        override=core.context_tokens,
        per_model=core.model_context_tokens,
    )
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            tokens = await windows.window(endpoint.model)
    except TimeoutError:
        return Check("context window", NOTE, "the endpoint did not say in time")
    source = windows.source(endpoint.model)
    if source == "default":
        detail = (
            f"the endpoint does not say; {tokens:,} tokens assumed until an overflow error "
            "tells (set CLAWLING_MODEL_CONTEXT_TOKENS to be sure)"
        )
        return Check("context window", NOTE, detail)
    where = {
        "setting": "from the settings",
        "models": "from GET /models",
        "props": "from llama.cpp's GET /props",
        "ollama": "from Ollama's /api/show",
    }.get(source, f"from {source}")
    return Check("context window", OK, f"{tokens:,} tokens ({where})")


FACTS: list[Fact] = [
    context_window,
    tool_calling,
    tool_calls_streamed,
    usage_in_streams,
    embeddings,
]


async def endpoint_facts(app: App, *, database_ok: bool) -> list[Check]:
    """Each fact about the endpoint, in order (a fact that does not apply gives no line)."""
    endpoint = Endpoint(app, database_ok)
    found = [await fact(endpoint) for fact in FACTS]
    return [check for check in found if check is not None]
