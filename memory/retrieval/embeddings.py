"""Optional semantic search: embeddings from an endpoint, stored as packed float32.

Vectors live in the `embeddings` table on every database (no extension needed)
and are compared in process with numpy; the full-text ranking is fused with this
one by the searcher. When the endpoint fails, search quietly uses full text only.

The endpoint is reached only through the `embed` callback (bot/ supplies it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import Embedding, MemoryItem, Message
from memory.memories import is_live
from memory.retrieval.scopes import Candidate, MessageFilter, Scope, filter_conditions

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], Awaitable[list[list[float]]]]

BATCH = 64
# Without a vector index, each query compares against at most this many of the
# scope's newest messages (about 120 MB of float32 at 1,536 dimensions).
SCAN_LIMIT = 20_000
MAX_TEXT_CHARS = 8_000  # what is embedded of a long message


def pack(vector: list[float]) -> bytes:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return (array / norm if norm else array).tobytes()


def unpack(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class VectorStore:
    """Embeds messages and memories, and ranks them by cosine similarity to a query."""

    def __init__(self, engine: AsyncEngine, embed: Embed, model: str) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._embed = embed
        self.model = model

    async def _vectors(self, texts: list[str]) -> list[bytes] | None:
        try:
            vectors = await self._embed([t[:MAX_TEXT_CHARS] for t in texts])
        except Exception as exc:  # noqa: BLE001 - any endpoint failure means "full text only"
            log.warning("embeddings unavailable, using full-text search only: %s", exc)
            return None
        if len(vectors) != len(texts):
            log.warning(
                "embedding endpoint returned %d vectors for %d texts", len(vectors), len(texts)
            )
            return None
        return [pack(v) for v in vectors]

    async def index_pending(self, user_id: int, limit: int = 256) -> int:
        """Embed up to `limit` of the user's messages and memories that have no vector yet."""
        done = 0
        async with self._sessions() as session:
            messages = (
                await session.execute(
                    select(Message.id, Message.content)
                    .outerjoin(
                        Embedding,
                        and_(Embedding.message_id == Message.id, Embedding.model == self.model),
                    )
                    .where(
                        Message.user_id == user_id,
                        Message.role.in_(("user", "assistant")),
                        Message.content != "",
                        Embedding.id.is_(None),
                    )
                    .order_by(Message.id.desc())
                    .limit(limit)
                )
            ).all()
            memories = (
                await session.execute(
                    select(MemoryItem.id, MemoryItem.content)
                    .outerjoin(
                        Embedding,
                        and_(Embedding.memory_id == MemoryItem.id, Embedding.model == self.model),
                    )
                    .where(MemoryItem.user_id == user_id, Embedding.id.is_(None))
                    .limit(limit)
                )
            ).all()
        items = [("message", i, t) for i, t in messages] + [("memory", i, t) for i, t in memories]
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            vectors = await self._vectors([text for _, _, text in batch])
            if vectors is None:
                return done
            async with self._sessions() as session, session.begin():
                for (kind, item_id, _), vector in zip(batch, vectors, strict=True):
                    session.add(
                        Embedding(
                            user_id=user_id,
                            message_id=item_id if kind == "message" else None,
                            memory_id=item_id if kind == "memory" else None,
                            model=self.model,
                            vector=vector,
                        )
                    )
            done += len(batch)
        return done

    async def _query_vector(self, query: str) -> np.ndarray | None:
        vectors = await self._vectors([query])
        return None if vectors is None else unpack(vectors[0])

    async def messages(
        self, scope: Scope, query: str, where: MessageFilter, limit: int
    ) -> list[Candidate]:
        """The scope's messages nearest to the query, best first ([] if unavailable)."""
        target = await self._query_vector(query)
        if target is None:
            return []
        statement = (
            select(
                Message.id,
                Message.conversation_id,
                Message.turn,
                Message.created_at,
                Embedding.vector,
            )
            .join(Embedding, Embedding.message_id == Message.id)
            .where(Embedding.model == self.model, scope.message_condition())
            .where(*filter_conditions(where))
            .order_by(Message.id.desc())
            .limit(SCAN_LIMIT)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        scores = _cosines(target, [row[4] for row in rows])
        best: list[int] = list(np.argsort(-scores)[:limit]) if len(rows) else []
        return [
            Candidate(rows[i][0], rows[i][1], rows[i][2], rows[i][3], float(scores[i]))
            for i in best
        ]

    async def memories(self, user_id: int, query: str, now: datetime, limit: int) -> list[int]:
        """Ids of the user's current memories nearest to the query, best first."""
        target = await self._query_vector(query)
        if target is None:
            return []
        statement = (
            select(MemoryItem.id, Embedding.vector)
            .join(Embedding, Embedding.memory_id == MemoryItem.id)
            .where(Embedding.model == self.model, MemoryItem.user_id == user_id, is_live(now))
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        scores = _cosines(target, [row[1] for row in rows])
        best: list[int] = list(np.argsort(-scores)[:limit]) if len(rows) else []
        return [int(rows[i][0]) for i in best]


def _cosines(target: np.ndarray, blobs: list[bytes]) -> np.ndarray:
    """Cosine similarity of each stored (unit) vector to the target; 0 on a size mismatch."""
    if not blobs:
        return np.zeros(0, dtype=np.float32)
    norm = float(np.linalg.norm(target))
    target = target / norm if norm else target
    size = target.nbytes
    if all(len(blob) == size for blob in blobs):
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)
        return matrix @ target
    scores = np.zeros(len(blobs), dtype=np.float32)
    for i, blob in enumerate(blobs):
        if len(blob) == size:
            scores[i] = float(unpack(blob) @ target)
    return scores
