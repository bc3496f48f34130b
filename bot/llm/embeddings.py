"""Embeddings from the OpenAI-compatible endpoint, for hybrid search (optional)."""

from __future__ import annotations

from openai import AsyncOpenAI

from memory.retrieval.embeddings import Embed


def openai_embedder(client: AsyncOpenAI, model: str) -> Embed:
    """The `embed` callback of memory.retrieval.embeddings.VectorStore."""

    async def embed(texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        response = await client.embeddings.create(model=model, input=texts, encoding_format="float")
        ordered = sorted(response.data, key=lambda item: item.index)
        return [list(item.embedding) for item in ordered]

    return embed
