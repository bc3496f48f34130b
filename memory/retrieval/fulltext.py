"""Full-text candidates from the database's own engine: FTS5 on SQLite, tsvector on
PostgreSQL, behind one function signature.

Both rank with BM25: FTS5's built-in `bm25()`, and on PostgreSQL the same formula
computed from the generated `search_vector` (document frequencies counted over
the matching rows of the searcher's scope). Text matches count fully, label
matches (speaker, memory key) at `LABEL_WEIGHT`. Queries arrive as plain words
(memory/retrieval/text.py), so nothing a person types can be a syntax error here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Float, Integer, TextualSelect, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from memory.retrieval.cjk import has_cjk
from memory.retrieval.text import fts5_query

LABEL_WEIGHT = 0.25
BM25_K1 = 1.2
BM25_B = 0.75


@dataclass(frozen=True)
class Table:
    """What to search: a table, its scope token and SQL conditions on its rows (alias `t`)."""

    name: str  # "messages" or "memories"
    token: str  # "u12" or "c34"
    where: str  # e.g. "t.user_id = :scope_id AND ..."
    params: dict[str, Any]
    columns: str = "t.id"  # selected before the score
    # Result types of the selected columns by name (e.g. a UtcDateTime), so rows
    # come back converted the same way on both databases.
    types: dict[str, TypeEngine[Any]] | None = None
    # Only rows with a higher id (the newest ones), when set.
    floor: int | None = None

    def typed(self, sql: str) -> Any:
        kinds = tuple(sorted((name, type(kind)) for name, kind in (self.types or {}).items()))
        return _typed(sql, kinds)


@functools.lru_cache(maxsize=256)
def _typed(sql: str, kinds: tuple[tuple[str, type[TypeEngine[Any]]], ...]) -> TextualSelect:
    """The statement, built once per shape: it runs every turn, and building it costs
    SQLAlchemy more than SQLite takes to answer it. Words are parameters, never SQL."""
    types = {"id": Integer(), **{name: kind() for name, kind in kinds}, "score": Float()}
    return text(sql).columns(**types)


class FullText(Protocol):
    async def rank(
        self, connection: AsyncConnection, table: Table, words: Sequence[str], limit: int
    ) -> list[Any]:
        """Rows (`table.columns`, then `score`), best first; higher scores are better."""
        ...

    async def counts(
        self, connection: AsyncConnection, table: Table, words: Sequence[str], cap: int
    ) -> dict[str, int]:
        """In how many rows of the scope each word occurs (counting stops at the word's
        `cap_for`)."""
        ...


def cap_for(word: str, cap: int) -> int:
    """How often `word` may occur and still pick candidates. A single Chinese, Japanese
    or Korean character is a quarter as selective as a word: a question of ten characters
    asks nineteen terms (memory/retrieval/text.py), and each character's matches would
    all become candidates, read and scored one by one (~40 µs each on PostgreSQL)."""
    return cap // 4 if len(word) == 1 and has_cjk(word) else cap


def only_frequent(counts: dict[str, int], cap: int) -> bool:
    """No asked word is rare, and some are frequent: every match would be a candidate."""
    frequent = any(c >= cap_for(w, cap) for w, c in counts.items())
    return frequent and not any(0 < c < cap_for(w, cap) for w, c in counts.items())


def select_words(words: Sequence[str], counts: dict[str, int], cap: int) -> list[str]:
    """Words that pick candidates: very frequent ones only when no rarer word matches.

    A word in thousands of a person's messages tells the ranking almost nothing
    (BM25 weighs it near zero) yet would make every one of them a candidate.
    """
    rare = [word for word in words if 0 < counts.get(word, 0) < cap_for(word, cap)]
    return rare or list(words)


class SqliteFullText:
    """FTS5: `MATCH` on the contentless index, ranked by bm25() with column weights."""

    async def rank(
        self, connection: AsyncConnection, table: Table, words: Sequence[str], limit: int
    ) -> list[Any]:
        if not words:
            return []
        fts = f"{table.name}_fts"
        bm25 = f"bm25({fts}, 1.0, {LABEL_WEIGHT}, 0.0)"
        sql = (
            f"SELECT {table.columns}, -{bm25} AS score FROM {fts} "
            f"JOIN {table.name} t ON t.id = {fts}.rowid "
            f"WHERE {fts} MATCH :match AND {table.where} "
            f"ORDER BY {bm25}, t.id DESC LIMIT :limit"
        )
        params = {**table.params, "match": fts5_query(list(words), table.token), "limit": limit}
        if table.floor is not None:
            sql = sql.replace("ORDER BY", f"AND {fts}.rowid > :floor ORDER BY", 1)
            params["floor"] = table.floor
        return list((await connection.execute(table.typed(sql), params)).all())

    async def counts(
        self, connection: AsyncConnection, table: Table, words: Sequence[str], cap: int
    ) -> dict[str, int]:
        fts = f"{table.name}_fts"
        counts = [
            f"(SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH :m{i} LIMIT :cap{i}))"
            for i in range(len(words))
        ]
        params: dict[str, Any] = {f"cap{i}": cap_for(w, cap) for i, w in enumerate(words)}
        params.update({f"m{i}": fts5_query([w], table.token) for i, w in enumerate(words)})
        row = (await connection.execute(text(f"SELECT {', '.join(counts)}"), params)).one()
        return {word: int(count) for word, count in zip(words, row, strict=True)}


class PostgresFullText:
    """tsvector + GIN: candidates by `@@`, BM25 computed over the matching rows."""

    async def rank(
        self, connection: AsyncConnection, table: Table, words: Sequence[str], limit: int
    ) -> list[Any]:
        if not words:
            return []
        params: dict[str, Any] = {**table.params, "scope_token": table.token, "limit": limit}
        queries, flags, counts, parts = [], [], [], []
        for i, word in enumerate(words):
            params[f"a{i}"] = f"{word}:A"
            params[f"b{i}"] = f"{word}:B"
            # Parsed once in `q`: in a generic plan (asyncpg prepares statements) a
            # to_tsquery() here would run for every matching row, twice per word.
            queries.append(
                f"to_tsquery('english', :a{i}) AS a{i}, to_tsquery('english', :b{i}) AS b{i}"
            )
            flags.append(
                f"(t.search_vector @@ q.a{i})::int AS a{i}, (t.search_vector @@ q.b{i})::int AS b{i}"
            )
            counts.append(f"count(*) FILTER (WHERE a{i} + b{i} > 0) AS n{i}")
            parts.append(
                f"ln(1 + (s.total - s.n{i} + 0.5) / (s.n{i} + 0.5)) * (a{i} + {LABEL_WEIGHT} * b{i})"
            )
        params["anyof"] = " | ".join(f"{word}:AB" for word in words)
        source = f"{table.name} t"
        if table.floor is not None:
            # Read the newest rows by primary key instead of a huge GIN bitmap.
            source = (
                f"(SELECT * FROM {table.name} n WHERE n.id > :floor ORDER BY n.id DESC OFFSET 0) t"
            )
            params["floor"] = table.floor
        k1, b = BM25_K1, BM25_B
        selected = ", ".join(f"h.{c.split('.')[-1]}" for c in table.columns.split(", "))
        sql = f"""
            WITH q AS MATERIALIZED (SELECT {", ".join(queries)}),
            hits AS (
                SELECT {table.columns}, length(t.search_vector) AS dl, {", ".join(flags)}
                FROM {source} CROSS JOIN q
                WHERE t.search_vector @@ (to_tsquery('simple', :scope_token)
                                          && to_tsquery('english', :anyof))
                  AND numnode(to_tsquery('english', :anyof)) > 0
                  AND {table.where}
            ), s AS MATERIALIZED (
                SELECT count(*)::float AS total, greatest(avg(dl), 1) AS avgdl, {", ".join(counts)}
                FROM hits
            )
            SELECT {selected},
                   ({" + ".join(parts)}) * {k1 + 1}
                   / (1 + {k1} * ({1 - b} + {b} * h.dl / s.avgdl)) AS score
            FROM hits h CROSS JOIN s
            ORDER BY score DESC, h.id DESC
            LIMIT :limit
        """
        return list((await connection.execute(table.typed(sql), params)).all())

    async def counts(
        self, connection: AsyncConnection, table: Table, words: Sequence[str], cap: int
    ) -> dict[str, int]:
        counts = [
            f"(SELECT count(*) FROM (SELECT 1 FROM {table.name} t WHERE t.search_vector @@ "
            f"(to_tsquery('simple', :scope_token) && to_tsquery('english', :w{i})) "
            f"LIMIT :cap{i}) AS s{i})"
            for i in range(len(words))
        ]
        params: dict[str, Any] = {"scope_token": table.token}
        params.update({f"cap{i}": cap_for(w, cap) for i, w in enumerate(words)})
        params.update({f"w{i}": f"{word}:AB" for i, word in enumerate(words)})
        row = (await connection.execute(text(f"SELECT {', '.join(counts)}"), params)).one()
        return {word: int(count) for word, count in zip(words, row, strict=True)}


def full_text_for(dialect: str) -> FullText:
    return SqliteFullText() if dialect == "sqlite" else PostgresFullText()
