"""Optional semantic search: embeddings from an endpoint, stored as packed float32.

Vectors live in the `embeddings` table on every database (no extension needed)
and are compared in process with numpy; the full-text ranking is fused with this
one by the searcher. Every answer is checked before use (memory/retrieval/vectorcheck.py:
one flat vector per text, one dimension per model, remembered by what is stored). When
the endpoint fails or answers in the wrong shape, the failure is logged once in one
line with its fix, and searches use full text only while the breaker is open
(memory/retrieval/breaker.py).

A search embeds its query once (`query_vector`) and passes the vector to both
rankings; recall's `prepare` embeds the query in the same request as the turn's new
messages. The endpoint is reached only through the `embed` callback (bot/ supplies it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from memory.db.models import Embedding, MemoryItem, Message
from memory.memories import is_live
from memory.retrieval.breaker import PAUSE, Breaker
from memory.retrieval.scopes import Candidate, MessageFilter, Scope, filter_conditions
from memory.retrieval.vectorcheck import BadVectors, Matrix, checked

log = logging.getLogger(__name__)

# One entry per text, as the endpoint sent it: checked (vectorcheck.checked) before use.
Embed = Callable[[list[str]], Awaitable[list[Any]]]


class Declined(Exception):
    """The `embed` callback would not ask the endpoint (the person's token budget is
    spent): no failure of the endpoint, so the breaker is left as it was."""


BATCH = 64
# Without a vector index, each query compares against at most this many of the
# scope's newest messages (about 120 MB of float32 at 1,536 dimensions).
SCAN_LIMIT = 20_000
MAX_TEXT_CHARS = 8_000  # what is embedded of a long message


def pack(vector: np.ndarray) -> bytes:
    """One vector as unit-length packed float32."""
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return (array / norm if norm else array).tobytes()


def unpack(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class VectorStore:
    """Embeds messages and memories, and ranks them by cosine similarity to a query."""

    def __init__(
        self,
        engine: AsyncEngine,
        embed: Embed,
        model: str,
        *,
        setting: str = "embedding model",
        pause: float = PAUSE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._embed = embed
        self.model = model
        # How messages name the setting, e.g. "CLAWLING_EMBEDDING_MODEL=nomic-embed".
        self.setting = f"{setting}={model}"
        self.breaker = Breaker(pause, clock)
        self._dimension: int | None = None  # known once read from the store or fixed

    async def stored_dimension(self) -> int | None:
        """The dimension of the vectors stored for this model (the most common one,
        should older wrong ones be there), or None when none is stored."""
        length = func.length(Embedding.vector)
        statement = (
            select(length)
            .where(Embedding.model == self.model)
            .group_by(length)
            .order_by(func.count().desc())
            .limit(1)
        )
        async with self._sessions() as session:
            size = (await session.execute(statement)).scalar()
        return None if size is None else int(size) // 4

    async def check(self, texts: list[str], *, stored: bool = True) -> Matrix:
        """Embed `texts` and check the answer's shape (against the stored dimension when
        `stored`), storing nothing and bypassing the breaker (for `clawling doctor`);
        raises BadVectors or the endpoint's error."""
        dimension = self._dimension or (await self.stored_dimension() if stored else None)
        return checked(await self._embed(texts), len(texts), dimension, setting=self.setting)

    async def _vectors(self, texts: list[str]) -> Matrix | None:
        """The texts' checked vectors, or None while the endpoint is failing."""
        if not self.breaker.allows():
            return None
        if self._dimension is None:
            self._dimension = await self.stored_dimension()
        try:
            answer = await self._embed([t[:MAX_TEXT_CHARS] for t in texts])
            vectors = checked(answer, len(texts), self._dimension, setting=self.setting)
        except Declined:
            self.breaker.skipped()
            return None
        except Exception as exc:  # noqa: BLE001 - any endpoint failure means "full text only"
            if self.breaker.failed():
                log.warning(
                    "embeddings off for %.0f s, searching full text only: %s",
                    self.breaker.pause,
                    exc if isinstance(exc, BadVectors) else _failure(self.setting, exc),
                )
            return None
        if self.breaker.succeeded():
            log.info("embeddings back (%s)", self.setting)
        self._dimension = vectors.shape[1]
        return vectors

    async def index_pending(self, user_id: int, limit: int = 256) -> int:
        """Embed up to `limit` of the user's messages and memories that have no vector yet."""
        done, _ = await self._index(user_id, limit, None)
        return done

    async def prepare(self, user_id: int, query: str, limit: int = 256) -> np.ndarray | None:
        """Index the user's pending messages and memories and embed `query`, in one
        request when they fit one batch (recall does this once a turn); the query's
        vector, or None when the endpoint is unavailable."""
        _, vector = await self._index(user_id, limit, query)
        return vector

    async def query_vector(self, query: str) -> np.ndarray | None:
        """The query's vector, or None when the endpoint is unavailable."""
        vectors = await self._vectors([query])
        return None if vectors is None else vectors[0]

    async def _index(
        self, user_id: int, limit: int, query: str | None
    ) -> tuple[int, np.ndarray | None]:
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
        if not items:
            return 0, None if query is None else await self.query_vector(query)
        found: np.ndarray | None = None
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            texts = [text for _, _, text in batch]
            # The query rides along with the first batch (it is often the new message).
            extra = [query] if query is not None and start == 0 and query not in texts else []
            vectors = await self._vectors(texts + extra)
            if vectors is None:
                return done, None
            if start == 0 and query is not None:
                found = vectors[-1] if extra else vectors[texts.index(query)]
            async with self._sessions() as session, session.begin():
                for (kind, item_id, _), vector in zip(batch, vectors, strict=False):
                    session.add(
                        Embedding(
                            user_id=user_id,
                            message_id=item_id if kind == "message" else None,
                            memory_id=item_id if kind == "memory" else None,
                            model=self.model,
                            vector=pack(vector),
                        )
                    )
            done += len(batch)
        return done, found

    async def messages(
        self, scope: Scope, target: np.ndarray, where: MessageFilter, limit: int
    ) -> list[Candidate]:
        """The scope's messages nearest to the query's vector `target`, best first."""
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

    async def memories(
        self, user_id: int, target: np.ndarray, now: datetime, limit: int
    ) -> list[int]:
        """Ids of the user's current memories nearest to the query's vector `target`."""
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


def _failure(setting: str, exc: Exception) -> str:
    """An endpoint error as one line naming the setting and the fix."""
    what = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return (
        f"{setting}: the embedding endpoint failed ({what}); fix: start the embedding "
        f"server, or correct {setting.split('=', 1)[0]} (or unset it)"
    )
