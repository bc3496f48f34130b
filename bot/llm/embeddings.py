"""Embeddings from the OpenAI-compatible endpoint, for hybrid search (optional).

The answer is read as plain JSON, not through the client's typed models, so a server
that answers in another shape (one vector per token, nested lists) reaches the check in
memory/retrieval/vectorcheck.py as it was sent. No retries: a failed call means full
text for this search, and memory's breaker decides when to ask again.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI

from bot.llm.failures import judge
from memory.retrieval.embeddings import Embed

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


def openai_embedder(client: AsyncOpenAI, model: str) -> Embed:
    """The `embed` callback of memory.retrieval.embeddings.VectorStore."""

    async def embed(texts: list[str]) -> list[Any]:
        if not texts:
            return []
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
            raise EmbeddingsUnavailable(failure.detail) from exc
        return read_embeddings(answer)

    return embed
