"""Search over a person's messages and memories.

One pipeline for both databases:
1. the query becomes plain words (memory/retrieval/text.py) and date hints (memory/retrieval/dates.py);
2. the database's full-text engine ranks candidates with BM25 (memory/retrieval/fulltext.py),
   always inside a scope: one user's data, or in a group chat one conversation;
3. messages from a time the query names score higher;
4. neighbouring turns share evidence: a message next to strong matches rises
   (the answer often follows the question that holds the words);
5. with embeddings configured, the vector ranking is fused in by reciprocal rank; the
   query is embedded once (`query_vector`) and the vector passed to every ranking that
   needs it, so a caller searching messages and memories passes one `QueryVector` to both.

Scores are relative (higher is better), not probabilities.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Integer, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from memory.db import reading
from memory.db.models import MemoryItem, Message, User
from memory.db.sqltypes import UtcDateTime, utcnow
from memory.memories import MemoryRecord, record
from memory.retrieval.dates import DateHint, closeness, date_hints
from memory.retrieval.fulltext import (
    Table,
    cap_for,
    full_text_for,
    only_frequent,
    select_words,
)
from memory.retrieval.scopes import OUTSIDE_LIVE, Candidate, MessageFilter, Scope, filter_conditions
from memory.retrieval.text import terms

CANDIDATES = 100
SPREADERS = 30  # the best candidates share their score with their neighbours
NEIGHBOUR_REACH = 4  # messages either side
NEIGHBOUR_SHARE = 0.5  # at distance 1, decaying with distance (Gaussian, sigma 2)
DATE_WEIGHT = 2.0  # a message at the date the query names scores up to 3x
RRF_K = 60
# A word in this many of the scope's messages does not pick candidates while a
# rarer word is asked (see fulltext.select_words).
FREQUENT = 2_000
# When every asked word is that frequent, only this many newest messages are ranked.
RECENT_WINDOW = 10_000
FREQUENT_FOR = 600.0  # seconds a word known to be frequent is not counted again
FREQUENT_CACHE = 50_000
OUTSIDE_CACHE = 50_000


@dataclass(frozen=True)
class MessageHit:
    id: int
    conversation_id: int
    ref: str
    role: str
    speaker: str | None
    text: str
    at: datetime
    score: float
    author: str | None = None  # the user row's name, for messages people sent
    untrusted: bool = False  # from outside content (see memory/db/models.py Message)


@dataclass(frozen=True)
class MemoryHit:
    memory: MemoryRecord
    score: float


@dataclass(frozen=True)
class QueryVector:
    """A query's embedding, made once and shared by the searches of one question;
    `vector` is None when embeddings are off or unavailable (full text only)."""

    vector: np.ndarray | None = None


class VectorSearch(Protocol):
    """Optional semantic ranking (memory/retrieval/embeddings.py)."""

    async def query_vector(self, query: str) -> np.ndarray | None: ...

    async def messages(
        self, scope: Scope, target: np.ndarray, where: MessageFilter, limit: int
    ) -> list[Candidate]: ...

    async def memories(
        self, user_id: int, target: np.ndarray, now: datetime, limit: int
    ) -> list[int]: ...


def _kernel(distance: int) -> float:
    return NEIGHBOUR_SHARE * math.exp(-(distance * distance) / 8.0)


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: each list adds 1 / (k + rank) to an item's score."""
    fused: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] += 1.0 / (k + rank)
    return dict(fused)


class Searcher:
    """Finds messages and memories for a query, inside a scope."""

    def __init__(self, engine: AsyncEngine, vectors: VectorSearch | None = None) -> None:
        self._engine = engine
        self._full_text = full_text_for(engine.dialect.name)
        self.vectors = vectors
        # (scope token, word) -> until when the word counts as frequent there.
        self._frequent: OrderedDict[tuple[str, str], float] = OrderedDict()
        # scope token -> (too small for frequent words?, until when that is trusted).
        self._small: dict[str, tuple[bool, float]] = {}
        # (scope token, filter) known to have messages outside the skipped context. Only
        # the yes is kept: messages outside a context only ever become more.
        self._outside: OrderedDict[tuple[str, MessageFilter], None] = OrderedDict()

    async def query_vector(self, query: str) -> QueryVector:
        """The query embedded once, to pass to several searches (one embedding call)."""
        if self.vectors is None or not query.strip():
            return QueryVector()
        return QueryVector(await self.vectors.query_vector(query))

    async def search_messages(
        self,
        scope: Scope,
        query: str,
        *,
        limit: int = 10,
        where: MessageFilter | None = None,
        now: datetime | None = None,
        vector: QueryVector | None = None,
    ) -> list[MessageHit]:
        """The messages that best match `query`, best first; [] when nothing matches.
        `vector`: the query's embedding when the caller has made it (else made here)."""
        where = where or MessageFilter()
        if limit <= 0:
            return []
        # Never hold a connection while waiting on something else (SQLite shares one).
        async with reading(self._engine) as connection:
            if not await self._anything_outside(connection, scope, where):
                return []
            words = terms(query)
            hints = date_hints(query, now or utcnow())
            lexical = await self._lexical(connection, scope, words, where)
            lexical = _date_boost(lexical, hints)
            scores = await self._spread(connection, scope, where, lexical)
        ranked = sorted(scores, key=lambda i: (-scores[i], -i))
        target = vector or await self.query_vector(query)
        if self.vectors is not None and target.vector is not None:
            semantic = await self.vectors.messages(scope, target.vector, where, CANDIDATES)
            if semantic:
                scores = fuse([ranked[:CANDIDATES], [c.id for c in semantic]])
                ranked = sorted(scores, key=lambda i: (-scores[i], -i))
        async with reading(self._engine) as connection:
            return await self._message_hits(connection, scope, ranked[:limit], scores)

    async def search_memories(
        self,
        user_id: int,
        query: str,
        *,
        limit: int = 10,
        now: datetime | None = None,
        vector: QueryVector | None = None,
    ) -> list[MemoryHit]:
        """The user's current memories that best match `query`, best first (`vector` as
        in search_messages)."""
        now = now or utcnow()
        if limit <= 0:
            return []
        words = terms(query)
        table = Table(
            name="memories",
            token=f"u{user_id}",
            where=(
                "t.user_id = :scope_id AND t.superseded_by_id IS NULL "
                "AND (t.expires_at IS NULL OR t.expires_at > :now)"
            ),
            params={"scope_id": user_id, "now": _bind_time(self._engine, now)},
        )
        async with reading(self._engine) as connection:
            rows = await self._full_text.rank(connection, table, words, CANDIDATES)
        scores = {int(row[0]): float(row[-1]) for row in rows}
        ranked = sorted(scores, key=lambda i: (-scores[i], -i))
        target = vector or await self.query_vector(query)
        if self.vectors is not None and target.vector is not None:
            semantic = await self.vectors.memories(user_id, target.vector, now, CANDIDATES)
            if semantic:
                scores = fuse([ranked, semantic])
                ranked = sorted(scores, key=lambda i: (-scores[i], -i))
        chosen = ranked[:limit]
        if not chosen:
            return []
        async with reading(self._engine) as connection:
            found = await connection.execute(
                select(MemoryItem).where(MemoryItem.id.in_(chosen), MemoryItem.user_id == user_id)
            )
            by_id = {row.id: row for row in found.all()}
        return [MemoryHit(record(by_id[i]), scores[i]) for i in chosen if i in by_id]  # type: ignore[arg-type]

    async def _lexical(
        self, connection: AsyncConnection, scope: Scope, words: list[str], where: MessageFilter
    ) -> list[Candidate]:
        conditions = [
            "t.conversation_id = :scope_id" if scope.conversation_id else "t.user_id = :scope_id"
        ]
        params: dict[str, Any] = {"scope_id": scope.conversation_id or scope.user_id}
        if where.since is not None:
            conditions.append("t.created_at >= :since")
            params["since"] = _bind_time(self._engine, where.since)
        if where.until is not None:
            conditions.append("t.created_at < :until")
            params["until"] = _bind_time(self._engine, where.until)
        if where.skip_conversation is not None:
            conditions.append(
                "NOT (t.conversation_id = :skip_c AND (t.turn IS NULL OR t.turn >= :skip_t))"
            )
            params.update(skip_c=where.skip_conversation, skip_t=where.skip_from_turn)
        table = Table(
            name="messages",
            token=scope.message_token,
            where=" AND ".join(conditions),
            params=params,
            columns="t.id, t.conversation_id, t.turn, t.created_at",
            types={"conversation_id": Integer(), "turn": Integer(), "created_at": UtcDateTime()},
        )
        if not words:
            return []
        counts = await self._counts(connection, scope, table, words)
        words = select_words(words, counts, FREQUENT)
        if only_frequent(counts, FREQUENT):
            # Nothing specific was asked: rank among the newest messages only.
            table = replace(table, floor=await self._recent_floor(connection, scope))
        rows = await self._full_text.rank(connection, table, words, CANDIDATES)
        return [Candidate(r[0], r[1], r[2], r[3], float(r[4])) for r in rows]

    async def _counts(
        self, connection: AsyncConnection, scope: Scope, table: Table, words: list[str]
    ) -> dict[str, int]:
        """How often each word occurs in the scope (or {} when the scope is too small for
        any word to be frequent). Both facts are remembered a while: frequencies over
        thousands of messages change slowly."""
        now = time.monotonic()
        small, until = self._small.get(table.token, (False, 0.0))
        if until <= now:
            sample = select(Message.id).where(scope.message_condition()).limit(FREQUENT)
            sized = select(func.count()).select_from(sample.subquery())
            small = ((await connection.execute(sized)).scalar() or 0) < FREQUENT
            self._small[table.token] = (small, now + FREQUENT_FOR)
            while len(self._small) > FREQUENT_CACHE:
                self._small.pop(next(iter(self._small)))
        if small:
            return {}
        known = {}
        for word in words:
            cached = self._frequent.get((table.token, word))
            if cached is not None and cached > now:
                known[word] = cap_for(word, FREQUENT)
        missing = [word for word in words if word not in known]
        if missing:
            counts = await self._full_text.counts(connection, table, missing, FREQUENT)
            for word, count in counts.items():
                known[word] = count
                if count >= cap_for(word, FREQUENT):
                    self._frequent[(table.token, word)] = now + FREQUENT_FOR
                    self._frequent.move_to_end((table.token, word))
            while len(self._frequent) > FREQUENT_CACHE:
                self._frequent.popitem(last=False)
        return known

    async def _anything_outside(
        self, connection: AsyncConnection, scope: Scope, where: MessageFilter
    ) -> bool:
        """Whether the scope has any message outside the skipped live context (always
        true when nothing is skipped). A time range in `where` is not checked here: a
        yes only lets the search run."""
        if where.skip_conversation is None:
            return True
        key = (scope.message_token, where)
        if key in self._outside:
            return True
        params = {
            "scope_id": scope.conversation_id or scope.user_id,
            "skip_c": where.skip_conversation,
            "skip_t": where.skip_from_turn,
        }
        statement = OUTSIDE_LIVE[scope.conversation_id is not None]
        if not (await connection.execute(statement, params)).scalar():
            return False
        self._outside[key] = None
        while len(self._outside) > OUTSIDE_CACHE:
            self._outside.popitem(last=False)
        return True

    async def _recent_floor(self, connection: AsyncConnection, scope: Scope) -> int | None:
        query = (
            select(Message.id)
            .where(scope.message_condition())
            .order_by(Message.id.desc())
            .offset(RECENT_WINDOW)
            .limit(1)
        )
        return (await connection.execute(query)).scalar()

    async def _spread(
        self,
        connection: AsyncConnection,
        scope: Scope,
        where: MessageFilter,
        candidates: list[Candidate],
    ) -> dict[int, float]:
        """Each strong candidate lends part of its score to the messages around it."""
        scores = {c.id: c.score for c in candidates}
        spreaders = [c for c in sorted(candidates, key=lambda c: -c.score) if c.turn is not None]
        spreaders = spreaders[:SPREADERS]
        if not spreaders:
            return scores
        windows: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for c in spreaders:
            turn = c.turn or 0
            windows[c.conversation_id].append((turn - NEIGHBOUR_REACH, turn + NEIGHBOUR_REACH))
        ranges = [
            and_(Message.conversation_id == conv, Message.turn.between(lo, hi))
            for conv, spans in windows.items()
            for lo, hi in _merge(spans)
        ]
        query = (
            select(Message.id, Message.conversation_id)
            .where(
                scope.message_condition(use_index=False),
                Message.role.in_(("user", "assistant")),
                Message.content != "",
                or_(*ranges),
                *filter_conditions(where),
            )
            .order_by(Message.conversation_id, Message.turn, Message.id)
        )
        rows = (await connection.execute(query)).all()
        position: dict[int, tuple[int, int]] = {}
        for index, (message_id, conversation_id) in enumerate(rows):
            position[message_id] = (conversation_id, index)
        order = [row[0] for row in rows]
        for c in spreaders:
            if c.id not in position:
                continue
            conversation, index = position[c.id]
            for offset in range(-NEIGHBOUR_REACH, NEIGHBOUR_REACH + 1):
                j = index + offset
                if offset == 0 or not 0 <= j < len(order):
                    continue
                neighbour = order[j]
                if position[neighbour][0] != conversation:
                    continue
                scores[neighbour] = scores.get(neighbour, 0.0) + _kernel(offset) * c.score
        return scores

    async def _message_hits(
        self,
        connection: AsyncConnection,
        scope: Scope,
        chosen: list[int],
        scores: dict[int, float],
    ) -> list[MessageHit]:
        if not chosen:
            return []
        query = (
            select(Message, User.name.label("author"))
            .outerjoin(User, User.id == Message.user_id)
            .where(Message.id.in_(chosen), scope.message_condition())
        )
        rows = {row.id: row for row in (await connection.execute(query)).all()}
        hits = []
        for message_id in chosen:
            row = rows.get(message_id)
            if row is None:
                continue
            hits.append(
                MessageHit(
                    id=row.id,
                    conversation_id=row.conversation_id,
                    ref=row.platform_message_id or f"msg:{row.id}",
                    role=row.role,
                    speaker=row.speaker,
                    text=row.content,
                    at=row.created_at,
                    score=scores[message_id],
                    author=row.author if row.role == "user" else None,
                    untrusted=bool(row.untrusted),
                )
            )
        return hits


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _date_boost(candidates: list[Candidate], hints: list[DateHint]) -> list[Candidate]:
    if not hints:
        return candidates
    return [
        replace(c, score=c.score * (1.0 + DATE_WEIGHT * closeness(hints, c.at))) for c in candidates
    ]


def _bind_time(engine: AsyncEngine, value: datetime) -> Any:
    """A datetime as the raw SQL text needs it (naive UTC on SQLite, like UtcDateTime)."""
    return UtcDateTime().process_bind_param(value, engine.dialect)
