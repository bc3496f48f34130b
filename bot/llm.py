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
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI

from bot.errors import TransportError
from memory.conversations import LLMCallRecord

log = logging.getLogger(__name__)

TextCallback = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    content: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    model: str


@dataclass(frozen=True)
class CallMeta:
    """Who a call is for, so its usage is recorded against them."""

    purpose: str = "turn"
    conversation_id: int | None = None
    user_id: int | None = None


class UsageRecorder(Protocol):
    async def record_llm_call(self, call: LLMCallRecord) -> None: ...


class LLMError(TransportError):
    """Every configured model failed for this request."""


@dataclass
class _Accumulator:
    """Builds a completion from streamed chunks."""

    text: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, Any]] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)

    def add_tool_deltas(self, deltas: Sequence[Any]) -> None:
        for delta in deltas:
            slot = self.calls.setdefault(delta.index, {"id": "", "name": "", "arguments": []})
            if delta.id:
                slot["id"] = delta.id
            if delta.function is not None:
                if delta.function.name:
                    slot["name"] += delta.function.name
                if delta.function.arguments:
                    slot["arguments"].append(delta.function.arguments)

    def tool_calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(
                id=slot["id"] or f"call_{index}",
                name=slot["name"],
                arguments="".join(slot["arguments"]) or "{}",
            )
            for index, slot in sorted(self.calls.items())
        )


def read_usage(usage: Any) -> Usage:
    """Token counts from a provider's usage object, whichever fields it fills."""
    if usage is None:
        return Usage()
    cached = 0
    details = getattr(usage, "prompt_tokens_details", None)
    if details is not None and getattr(details, "cached_tokens", None):
        cached = int(details.cached_tokens)
    extra = getattr(usage, "model_extra", None) or {}
    if not cached and extra.get("prompt_cache_hit_tokens"):  # DeepSeek
        cached = int(extra["prompt_cache_hit_tokens"])
    return Usage(
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cached_tokens=cached,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}: {exc.message}"[:500]
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot connect ({exc.__cause__ or exc})"[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


def _user_message(exc: Exception) -> str:
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        return "The model service refused our credentials, so I can't answer right now."
    if isinstance(exc, openai.RateLimitError):
        return "The model service is rate-limiting us right now."
    if isinstance(exc, openai.APITimeoutError):
        return "The model took too long to answer."
    if isinstance(exc, openai.APIConnectionError):
        return "I can't reach the model service right now."
    return "The model service returned an error."


class EmptyCompletion(ValueError):
    """The endpoint answered, but with neither text nor tool calls."""


# Errors that mean "this attempt failed", as opposed to bugs in our code.
_CALL_ERRORS: tuple[type[Exception], ...] = (
    openai.OpenAIError,
    json.JSONDecodeError,
    UnicodeDecodeError,
    EmptyCompletion,
)


class LLM:
    """Chat completions with streaming, tool calls, fallback models and usage records."""

    def __init__(
        self, client: AsyncOpenAI, models: Sequence[str], recorder: UsageRecorder | None = None
    ) -> None:
        if not models:
            raise ValueError("at least one model is needed")
        self._client = client
        self.models = list(models)
        self._recorder = recorder

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
        failures: list[Exception] = []
        for model in self.models:
            started = time.perf_counter()
            try:
                request = self._request(model, messages, tools, tool_choice, max_tokens)
                if on_text is None:
                    result = await self._complete_once(request)
                else:
                    result = await self._stream_once(request, on_text)
            except _CALL_ERRORS as exc:
                failures.append(exc)
                log.warning("model %s failed: %s", model, _describe(exc))
                await self._record(meta, model, started, error=_describe(exc))
                continue
            await self._record(meta, model, started, usage=result.usage)
            return result
        last = failures[-1]
        raise LLMError(
            f"all models failed; last error: {_describe(last)}", _user_message(last)
        ) from last

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

    async def _complete_once(self, request: dict[str, Any]) -> Completion:
        response = await self._client.chat.completions.create(**request)
        if not getattr(response, "choices", None):
            raise EmptyCompletion("response has no choices")
        message = response.choices[0].message
        calls = tuple(
            ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments or "{}")
            for c in message.tool_calls or ()
            if getattr(c, "function", None) is not None
        )
        content = message.content or ""
        if not content and not calls:
            raise EmptyCompletion("empty answer")
        return Completion(content, calls, read_usage(response.usage), request["model"])

    async def _stream_once(self, request: dict[str, Any], on_text: TextCallback) -> Completion:
        acc = _Accumulator()
        stream = await self._client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in stream:
            if chunk.usage is not None:
                acc.usage = read_usage(chunk.usage)
            for choice in chunk.choices:
                delta = choice.delta
                if delta is None:
                    continue
                if delta.tool_calls:
                    acc.add_tool_deltas(delta.tool_calls)
                if delta.content:
                    acc.text.append(delta.content)
                    await on_text("".join(acc.text))
        content = "".join(acc.text)
        calls = acc.tool_calls()
        if not content and not calls:
            raise EmptyCompletion("empty answer")
        return Completion(content, calls, acc.usage, request["model"])

    async def _record(
        self,
        meta: CallMeta,
        model: str,
        started: float,
        *,
        usage: Usage | None = None,
        error: str | None = None,
    ) -> None:
        if self._recorder is None:
            return
        usage = usage or Usage()
        await self._recorder.record_llm_call(
            LLMCallRecord(
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
        )


def make_client(
    base_url: str, api_key: str | None, *, timeout: float, max_retries: int
) -> AsyncOpenAI:
    """An AsyncOpenAI client; endpoints without keys (Ollama, vLLM) get a placeholder."""
    return AsyncOpenAI(
        base_url=base_url,
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=max_retries,
    )
