"""The model client: any OpenAI-compatible endpoint through `openai.AsyncOpenAI`.

Retries with backoff are the openai client's (429, 5xx, timeouts, honouring
`retry-after`); on top of that each call falls back through the configured
models in order. Every attempt, failed or not, is recorded with its usage, estimated
when the endpoint reports none.

Open-model servers differ from OpenAI's, and the client meets them halfway: tools go
with `tool_choice: "auto"`, replies are capped (`max_tokens`), a stream that brings
nothing is asked again without streaming (streaming.py), an answer that loops is cut
off (repetition.py), and a request refused as invalid is repaired once (repair.py).

A call made for a person reserves its estimate against their token budget first
(quota.py: the `Quota` seam); the hold travels in the call's record, whose row
replaces it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import httpx2
import openai
from openai import AsyncOpenAI, AsyncStream

from bot.agent.prompt import estimate_tokens
from bot.errors import TransportError
from bot.llm.completions import (
    Completion,
    MalformedResponse,
    ToolCall,
    Usage,
    parse_completion,
    read_usage,
)
from bot.llm.encoding import RequestEncoder
from bot.llm.failures import (
    MODEL_NOT_FOUND,
    REFUSED_REQUEST,
    SERVER_ERROR,
    Failure,
    judge,
    model_ids,
    with_models,
)
from bot.llm.quota import Quota, QuotaExceeded, estimate
from bot.llm.repair import error_text, rejected_as_invalid, repaired
from bot.llm.repetition import cut, repeating_from
from bot.llm.streaming import NoData, TextCallback, read_stream
from bot.llm.transport import make_client
from memory.usage import LLMCallRecord

log = logging.getLogger(__name__)

__all__ = [
    "LLM",
    "CallMeta",
    "Completion",
    "LLMError",
    "QuotaExceeded",
    "TextCallback",
    "ToolCall",
    "Usage",
    "make_client",
    "read_usage",
]

# How long a streamed request offering tools may bring no data at all before, in
# CLAWLING_STREAM=auto, the server is taken for one that cannot stream tool calls.
STREAM_PATIENCE = 30.0


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
    """Chat completions with streaming, tool calls, fallback models and usage records.

    `max_output_tokens` caps every reply that does not ask for its own cap (sent as
    `max_tokens`, which every server reads; a model that refuses it for
    `max_completion_tokens`, as OpenAI's reasoning models do, gets that from then on).
    `stream` is "auto", "on" or "off" (CLAWLING_STREAM): in "auto" a model whose
    streamed request offering tools brings no data within `stream_patience` seconds is
    asked again without streaming, and its tool requests are not streamed any more.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        models: Sequence[str],
        recorder: UsageRecorder | None = None,
        *,
        max_output_tokens: int | None = None,
        stream: str = "auto",
        stream_patience: float = STREAM_PATIENCE,
        quota: Quota | None = None,
    ) -> None:
        if not models:
            raise ValueError("at least one model is needed")
        self._client = client
        self._encoder = RequestEncoder()
        self.models = list(models)
        self._recorder = recorder
        self.quota = quota  # people's budgets (public: the embedder reserves through it too)
        self.stats = LLMStats()
        self.max_output_tokens = max_output_tokens
        self._stream = stream
        self._patience = stream_patience
        self._tools_unstreamed: set[str] = set()  # models that cannot stream tool calls
        self._cap_names: dict[str, str] = {}  # model -> the parameter its cap goes in

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
        """One completion; tries each model in turn until one answers. A request the
        model refuses as invalid is adapted once and sent again (see `_adapted`).
        Each attempt for a person is first reserved against their budget: raises
        QuotaExceeded, before any request, when it is spent."""
        meta = meta or CallMeta()
        failure: Failure | None = None
        for model in self.models:
            request = self._request(model, messages, tools, tool_choice, max_tokens)
            adapted: set[str] = set()
            notice = ""
            while True:
                hold = await self._reserve(meta, request)
                started = time.perf_counter()
                try:
                    result = await self._answer(request, on_text)
                except _CALL_ERRORS as exc:
                    self.stats.calls += 1
                    self.stats.failed_calls += 1
                    failure = self.judge(exc, model)
                    log.warning("model %s failed (%s): %s", model, failure.kind, failure.detail)
                    failed = _call_record(meta, model, started, error=failure.detail, hold=hold)
                    await self._record(failed)
                    retry = self._adapted(request, exc, failure, adapted)
                    if retry is None:
                        break
                    request, notice = retry[0], notice or retry[1]
                    continue
                except BaseException:
                    if hold is not None and self.quota is not None:
                        await self.quota.release(hold)  # cancelled: no record replaces it
                    raise
                self._count(result.usage)
                record = _call_record(meta, model, started, usage=result.usage, hold=hold)
                if meta.record_success:
                    await self._record(record)
                return replace(result, record=record, notice=notice)
        if failure is None:
            raise RuntimeError("no model was tried")  # __init__ requires one
        if failure.kind == MODEL_NOT_FOUND:
            failure = with_models(failure, await self.offered_models())
        raise LLMError(f"all models failed; last error: {failure.detail}", failure)

    async def _reserve(self, meta: CallMeta, request: dict[str, Any]) -> int | None:
        """Hold the request's estimate (prompt + its cap) against the person's budget."""
        if self.quota is None or meta.user_id is None:
            return None
        return await self.quota.reserve(meta.user_id, lambda: estimate(request))

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
            # Said out loud: llama.cpp's servers take tools without a choice as "none".
            request["tool_choice"] = tool_choice or "auto"
        cap = max_tokens if max_tokens is not None else self.max_output_tokens
        if cap is not None:
            request[self._cap_names.get(model, "max_tokens")] = cap
        return request

    def _adapted(
        self, request: dict[str, Any], exc: BaseException, failure: Failure, done: set[str]
    ) -> tuple[dict[str, Any], str] | None:
        """The request to send again after `exc`, with the notice for the person, or
        None. Each adaptation is made at most once per request; only refusals and
        server errors are considered (a wrong key or model is not the request's fault)."""
        if failure.kind not in (REFUSED_REQUEST, SERVER_ERROR) or not isinstance(
            exc, openai.APIStatusError
        ):
            return None
        model = request["model"]
        if "max_tokens" in request and "max_completion_tokens" in error_text(exc):
            if "cap" in done:
                return None
            done.add("cap")
            self._cap_names[model] = "max_completion_tokens"
            log.info("model %s takes its output cap as max_completion_tokens", model)
            adapted = {k: v for k, v in request.items() if k != "max_tokens"}
            return {**adapted, "max_completion_tokens": request["max_tokens"]}, ""
        if "repair" in done or not rejected_as_invalid(exc):
            return None
        done.add("repair")
        fixed = repaired(request["messages"])
        if fixed is None:
            return None
        log.warning("model %s refused the request as invalid; sending it repaired", model)
        return {**request, "messages": fixed[0]}, fixed[1]

    def _streams(self, request: dict[str, Any]) -> bool:
        if self._stream == "off":
            return False
        return self._stream == "on" or not (
            _offers_tools(request) and request["model"] in self._tools_unstreamed
        )

    async def _answer(self, request: dict[str, Any], on_text: TextCallback | None) -> Completion:
        """One request, streamed when it can be; a stream that brings nothing is asked
        again without streaming (bot/llm/streaming.py says when)."""
        model = request["model"]
        if on_text is not None and self._streams(request):
            body = self._encoder.encode(
                {**request, "stream": True, "stream_options": {"include_usage": True}}
            )
            patient = self._stream == "auto" and _offers_tools(request)
            try:
                stream = await self._post(body, stream=True)
                result = await read_stream(
                    stream, model, on_text, self._patience if patient else None
                )
                return self._with_usage(result, body)
            except NoData as silence:
                log.info("model %s: %s; asking again without streaming", model, silence)
                result = await self._answer(request, None)
                # Only silence, or a tool call the stream did not bring, says the server
                # cannot stream tool calls (an overflow also ends a stream empty).
                if patient and (silence.waited or result.tool_calls):
                    self._tools_unstreamed.add(model)
                    log.warning(
                        "model %s cannot stream tool calls; its requests with tools are "
                        "no longer streamed (CLAWLING_STREAM=auto)",
                        model,
                    )
                if result.content:
                    await on_text(result.content)
                return result
        body = self._encoder.encode(request)
        result = parse_completion(await self._post(body, stream=False), model)
        start = repeating_from(result.content)
        if start is not None:
            result = replace(result, content=cut(result.content, start), tool_calls=())
        if on_text is not None and result.content:
            await on_text(result.content)
        return self._with_usage(result, body)

    def _with_usage(self, result: Completion, body: bytes) -> Completion:
        """The completion with usage estimated when the endpoint reported none
        (llama-cpp-python ignores `stream_options`), so /usage and quotas count it."""
        if result.usage.prompt_tokens or result.usage.completion_tokens:
            return result
        written = result.content + "".join(c.name + c.arguments for c in result.tool_calls)
        usage = Usage(
            prompt_tokens=estimate_tokens(body.decode()),
            completion_tokens=estimate_tokens(written),
            estimated=True,
        )
        return replace(result, usage=usage)

    async def _post(self, body: bytes, *, stream: bool) -> Any:
        # `chat.completions.create()` walks every message through a recursive
        # TypedDict transform whose cost grows with the history, and builds a
        # pydantic object per streamed chunk; together several ms of CPU per call
        # (bench/turn_overhead.py). Our messages are plain JSON already, so post
        # them as JSON bytes (RequestEncoder) and read the answer as JSON; the
        # client's retries, timeouts, auth and error types are unchanged.
        return await self._client.post(
            "/chat/completions",
            content=body,
            cast_to=object,
            stream=stream,
            stream_cls=AsyncStream[object],
        )

    def _count(self, usage: Usage) -> None:
        self.stats.calls += 1
        self.stats.prompt_tokens += usage.prompt_tokens
        self.stats.completion_tokens += usage.completion_tokens
        self.stats.cached_tokens += usage.cached_tokens

    async def _record(self, record: LLMCallRecord) -> None:
        if self._recorder is not None:
            await self._recorder.record_llm_call(record)


def _offers_tools(request: dict[str, Any]) -> bool:
    return bool(request.get("tools")) and request.get("tool_choice") != "none"


def _call_record(
    meta: CallMeta,
    model: str,
    started: float,
    *,
    usage: Usage | None = None,
    error: str | None = None,
    hold: int | None = None,
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
        estimated=usage.estimated,
        duration_ms=int((time.perf_counter() - started) * 1000),
        conversation_id=meta.conversation_id,
        user_id=meta.user_id,
        hold_id=hold,
    )
