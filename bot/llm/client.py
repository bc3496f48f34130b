"""The model client: any OpenAI-compatible endpoint through `openai.AsyncOpenAI`.

Retries with backoff are the openai client's (429, 5xx, timeouts, honouring
`retry-after`); on top of that each call falls back through the configured
models in order. Every attempt, failed or not, is recorded with its usage.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import aiohttp
import httpx2
import openai
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient

from bot.errors import TransportError
from bot.llm.completions import (
    Completion,
    MalformedResponse,
    StreamAccumulator,
    ToolCall,
    Usage,
    parse_completion,
    read_usage,
)
from bot.llm.failures import MODEL_NOT_FOUND, Failure, judge, model_ids, with_models
from memory.usage import LLMCallRecord

log = logging.getLogger(__name__)

__all__ = ["LLM", "CallMeta", "Completion", "LLMError", "ToolCall", "Usage", "read_usage"]

TextCallback = Callable[[str], Awaitable[None]]

# As the openai client encodes bodies: compact, UTF-8, no NaN.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_KEPT_FRAGMENTS = 16


class RequestEncoder:
    """Request bodies as JSON bytes, with the parts that repeat encoded once.

    The system prompt and the tool schemas are the same objects in every request
    (PromptBuilder and ToolRegistry keep them while unchanged) and most of a short
    conversation's body; their JSON is kept by object identity, so each request
    encodes only its history and volatile note.
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[object, str]] = {}

    def encode(self, request: dict[str, Any]) -> bytes:
        parts = []
        for key, value in request.items():
            if key == "tools":
                text = self._fragment(value)
            elif key == "messages" and value:
                rest = _JSON.encode(value[1:])
                text = f"[{self._fragment(value[0])}{',' if len(value) > 1 else ''}{rest[1:]}"
            else:
                text = _JSON.encode(value)
            parts.append(f"{_JSON.encode(key)}:{text}")
        return ("{" + ",".join(parts) + "}").encode()

    def _fragment(self, value: object) -> str:
        kept = self._kept.get(id(value))
        if kept is not None and kept[0] is value:
            return kept[1]
        text = _JSON.encode(value)
        if len(self._kept) >= _KEPT_FRAGMENTS:
            self._kept.clear()
        self._kept[id(value)] = (value, text)  # holding it keeps its id from being reused
        return text


@dataclass(frozen=True)
class CallMeta:
    """Who a call is for, so its usage is recorded against them."""

    purpose: str = "turn"
    conversation_id: int | None = None
    user_id: int | None = None
    # False when the caller stores the successful call's record itself, in the
    # same transaction as what the call produced (the agent does, per step).
    record_success: bool = True


@dataclass
class LLMStats:
    """Counters for /metrics, over the life of the process."""

    calls: int = 0
    failed_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


class UsageRecorder(Protocol):
    async def record_llm_call(self, call: LLMCallRecord) -> None: ...


class LLMError(TransportError):
    """Every configured model failed for this request; `failure` says why (the last one)."""

    def __init__(self, message: str, failure: Failure) -> None:
        super().__init__(message, failure.user_message)
        self.failure = failure


# Errors that mean "this attempt failed", as opposed to bugs in our code. A connection
# lost while an answer streams in reaches us as the transport's own error.
_CALL_ERRORS: tuple[type[Exception], ...] = (
    openai.OpenAIError,
    httpx2.TransportError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    MalformedResponse,
)


class LLM:
    """Chat completions with streaming, tool calls, fallback models and usage records."""

    def __init__(
        self, client: AsyncOpenAI, models: Sequence[str], recorder: UsageRecorder | None = None
    ) -> None:
        if not models:
            raise ValueError("at least one model is needed")
        self._client = client
        self._encoder = RequestEncoder()
        self.models = list(models)
        self._recorder = recorder
        self.stats = LLMStats()

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        *,
        meta: CallMeta | None = None,
        on_text: TextCallback | None = None,
        tool_choice: str | None = None,
        max_tokens: int | None = None,
    ) -> Completion:
        """One completion; tries each model in turn until one answers."""
        meta = meta or CallMeta()
        failure: Failure | None = None
        for model in self.models:
            started = time.perf_counter()
            try:
                request = self._request(model, messages, tools, tool_choice, max_tokens)
                if on_text is None:
                    result = await self._complete_once(request)
                else:
                    result = await self._stream_once(request, on_text)
            except _CALL_ERRORS as exc:
                self.stats.calls += 1
                self.stats.failed_calls += 1
                failure = self.judge(exc, model)
                log.warning("model %s failed (%s): %s", model, failure.kind, failure.detail)
                await self._record(_call_record(meta, model, started, error=failure.detail))
                continue
            self._count(result.usage)
            record = _call_record(meta, model, started, usage=result.usage)
            if meta.record_success:
                await self._record(record)
            return replace(result, record=record)
        if failure is None:
            raise RuntimeError("no model was tried")  # __init__ requires one
        if failure.kind == MODEL_NOT_FOUND:
            failure = with_models(failure, await self.offered_models())
        raise LLMError(f"all models failed; last error: {failure.detail}", failure)

    def judge(self, exc: BaseException, model: str) -> Failure:
        """What a failed call to `model` means (see bot/llm/failures.py)."""
        timeout = self._client.timeout
        seconds = timeout if isinstance(timeout, int | float) else getattr(timeout, "read", 0)
        return judge(exc, base_url=str(self._client.base_url), model=model, timeout=seconds or 0)

    async def offered_models(self) -> list[str] | None:
        """The models the endpoint lists (GET /models), or None when it lists none."""
        try:
            listing = await self._client.get(
                "/models", cast_to=object, options={"timeout": 10, "max_retries": 0}
            )
        except _CALL_ERRORS as exc:
            log.info("the endpoint did not list its models: %s", type(exc).__name__)
            return None
        return model_ids(listing) or None

    async def fetch_json(self, url: str, body: dict[str, Any] | None = None) -> object | None:
        """GET `url` (POST `body` when given) on the endpoint's server with our key, for
        what it says about its models (bot/llm/window.py); None on an error status.
        Raises when the server cannot be reached."""
        options: Any = {"timeout": 10, "max_retries": 0}
        try:
            if body is None:
                return await self._client.get(url, cast_to=object, options=options)
            return await self._client.post(url, body=body, cast_to=object, options=options)
        except openai.APIStatusError:
            return None

    def _request(
        self,
        model: str,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        tool_choice: str | None,
        max_tokens: int | None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"model": model, "messages": messages}
        if tools:
            request["tools"] = tools
            if tool_choice is not None:
                request["tool_choice"] = tool_choice
        if max_tokens is not None:
            request["max_tokens"] = max_tokens
        return request

    async def _post(self, request: dict[str, Any], *, stream: bool) -> Any:
        # `chat.completions.create()` walks every message through a recursive
        # TypedDict transform whose cost grows with the history, and builds a
        # pydantic object per streamed chunk; together several ms of CPU per call
        # (bench/turn_overhead.py). Our messages are plain JSON already, so post
        # them as JSON bytes (RequestEncoder) and read the answer as JSON; the
        # client's retries, timeouts, auth and error types are unchanged.
        return await self._client.post(
            "/chat/completions",
            content=self._encoder.encode(request),
            cast_to=object,
            stream=stream,
            stream_cls=AsyncStream[object],
        )

    async def _complete_once(self, request: dict[str, Any]) -> Completion:
        return parse_completion(await self._post(request, stream=False), request["model"])

    async def _stream_once(self, request: dict[str, Any], on_text: TextCallback) -> Completion:
        acc = StreamAccumulator()
        stream = await self._post(
            {**request, "stream": True, "stream_options": {"include_usage": True}}, stream=True
        )
        async for chunk in stream:
            if acc.add(chunk):
                await on_text("".join(acc.text))
        return acc.completion(request["model"])

    def _count(self, usage: Usage) -> None:
        self.stats.calls += 1
        self.stats.prompt_tokens += usage.prompt_tokens
        self.stats.completion_tokens += usage.completion_tokens
        self.stats.cached_tokens += usage.cached_tokens

    async def _record(self, record: LLMCallRecord) -> None:
        if self._recorder is not None:
            await self._recorder.record_llm_call(record)


def _call_record(
    meta: CallMeta,
    model: str,
    started: float,
    *,
    usage: Usage | None = None,
    error: str | None = None,
) -> LLMCallRecord:
    usage = usage or Usage()
    return LLMCallRecord(
        purpose=meta.purpose,
        model=model,
        ok=error is None,
        error=error,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        duration_ms=int((time.perf_counter() - started) * 1000),
        conversation_id=meta.conversation_id,
        user_id=meta.user_id,
    )


def make_client(
    base_url: str, api_key: str | None, *, timeout: float, max_retries: int
) -> AsyncOpenAI:
    """An AsyncOpenAI client; endpoints without keys (Ollama, vLLM) get a placeholder.

    It speaks HTTP through the client's aiohttp transport (`openai[aiohttp]`):
    aiohttp parses responses in C, where the default httpx stack parses every
    streamed chunk in Python; about 1 ms of CPU per model call
    (bench/turn_overhead.py). Retries, timeouts and errors stay the client's."""
    return AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=max_retries,
        http_client=_AioHttpClient(),
    )


class _HonestConnectErrors(httpx2.AsyncBaseTransport):
    """The aiohttp transport, with a refused connection or an unknown host reported as
    a connection error.

    The transport maps aiohttp's exceptions to httpx's by the first matching base class,
    and `ClientConnectionError` (the base of refused, DNS and reset errors) maps to
    `ConnectTimeout`, so openai raised `APITimeoutError` and a stopped Ollama read as
    "took too long". Only a real timeout stays a timeout here.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx2.ConnectTimeout as exc:
            cause = exc.__cause__
            timed_out = isinstance(cause, aiohttp.ServerTimeoutError | TimeoutError)
            if cause is None or timed_out:
                raise
            raise httpx2.ConnectError(str(exc), request=request) from cause

    async def aclose(self) -> None:
        await self._inner.aclose()


class _AioHttpClient(DefaultAioHttpClient):
    """openai's aiohttp client with every transport it makes wrapped in
    `_HonestConnectErrors` (these two hooks are where it makes them)."""

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _HonestConnectErrors(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _HonestConnectErrors(super()._init_proxy_transport(*args, **kwargs))
