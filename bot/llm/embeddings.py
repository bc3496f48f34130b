"""Embeddings from the OpenAI-compatible endpoint, for hybrid search (optional).

The answer is read as plain JSON, not through the client's typed models, so a server
that answers in another shape (one vector per token, nested lists) reaches the check in
memory/retrieval/vectorcheck.py as it was sent. No retries: a failed call means full
text for this search, and memory's breaker decides when to ask again.

Embeddings count against the person they are made for, like every model call: the
person is the one whose turn or task is running (bot/logcontext.py carries their id
into every call the turn makes, recall and search tools alike). Each request made for
a person is recorded (purpose "embedding") and, when they have a budget, reserved first; a
spent budget declines the request (memory's `Declined`: full text only, no breaker).
"""

from __future__ import annotations

import time
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI

from bot.agent.prompt import estimate_tokens
from bot.llm.client import UsageRecorder
from bot.llm.failures import judge
from bot.llm.quota import Quota, QuotaExceeded
from bot.logcontext import current_ids
from memory.retrieval.embeddings import Declined, Embed
from memory.usage import LLMCallRecord

# The setting that names the embedding model, as messages and `doctor` show it.
SETTING = "CLAWLING_EMBEDDING_MODEL"


class MalformedEmbeddings(ValueError):
    """The answer has no `data` list of embeddings."""


class EmbeddingsUnavailable(RuntimeError):
    """The call failed; the message says how in one line (bot/llm/failures.py)."""


def read_embeddings(answer: Any) -> list[Any]:
    """The `embedding` of each item of `data`, in `index` order (unchecked)."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise MalformedEmbeddings("the answer has no list of embeddings (`data`)")
    if all(isinstance(item.get("index"), int) for item in data):
        data = sorted(data, key=lambda item: item["index"])
    return [item.get("embedding") for item in data]


def reported_tokens(answer: Any) -> int:
    """`usage.prompt_tokens` of the answer, or 0 when it reports none."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) and tokens > 0 else 0


def openai_embedder(
    client: AsyncOpenAI,
    model: str,
    *,
    recorder: UsageRecorder | None = None,
    quota: Quota | None = None,
) -> Embed:
    """The `embed` callback of memory.retrieval.embeddings.VectorStore."""

    async def record(
        started: float, hold: int | None, tokens: int, estimated: bool, error: str | None = None
    ) -> None:
        ids = current_ids()
        if recorder is None or "user_id" not in ids:
            # For no one (`clawling doctor`'s probe, an import): nothing to count.
            if hold is not None and quota is not None:
                await quota.release(hold)
            return
        await recorder.record_llm_call(
            LLMCallRecord(
                purpose="embedding",
                model=model,
                ok=error is None,
                error=error,
                prompt_tokens=tokens,
                estimated=estimated,
                duration_ms=int((time.perf_counter() - started) * 1000),
                conversation_id=ids.get("conversation_id"),
                user_id=ids.get("user_id"),
                hold_id=hold,
            )
        )

    async def embed(texts: list[str]) -> list[Any]:
        if not texts:
            return []
        user_id = current_ids().get("user_id")
        hold = None
        if quota is not None and user_id is not None:
            try:
                hold = await quota.reserve(user_id, lambda: sum(estimate_tokens(t) for t in texts))
            except QuotaExceeded as exc:
                raise Declined(str(exc)) from exc
        started = time.perf_counter()
        try:
            answer = await client.post(
                "/embeddings",
                body={"model": model, "input": texts, "encoding_format": "float"},
                cast_to=object,
                options={"max_retries": 0},
            )
        except (openai.OpenAIError, httpx2.TransportError) as exc:
            timeout = client.timeout if isinstance(client.timeout, int | float) else 0
            base_url = str(client.base_url)
            failure = judge(exc, base_url=base_url, model=model, timeout=timeout)
            await record(started, hold, 0, False, failure.detail)
            raise EmbeddingsUnavailable(failure.detail) from exc
        except BaseException:
            if hold is not None and quota is not None:
                await quota.release(hold)
            raise
        reported = reported_tokens(answer)
        estimate = reported or sum(estimate_tokens(t) for t in texts)
        await record(started, hold, estimate, not reported)
        return read_embeddings(answer)

    return embed
