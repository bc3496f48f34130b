"""Search speed and insert rate at scale: 100k messages for one user, and 1M messages
across 1,000 users, on SQLite and PostgreSQL.

Messages are synthetic: 4-30 words drawn from a 30,000-word Zipf vocabulary
(plus common English function words), imported through the same code as
`clawling memory import`; queries are 2-5 words of mixed frequency, asked
through the same code as `clawling memory search` (messages and memories).
`--script cjk` writes the messages in Chinese instead: synthetic words of 1-3 common
Han characters (Zipf), run together without spaces as Chinese is written, asked as
unspaced questions, so the CJK index (character unigrams and bigrams) carries it all.
The full-text index's size is reported beside the speed.
Target: search p95 <= 50 ms at 100k messages per user.

    python -m bench.memory_scale [--db sqlite postgresql] [--one-user 100000]
                                 [--users 1000 --per-user 1000] [--queries 200]
                                 [--script latin|cjk]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._common import database, percentile
from memory import db
from memory.history import History, HistoryLine
from memory.retrieval.search import Searcher

VOCABULARY = 30_000
FUNCTION_WORDS = "the a and to of I you it in is that we was for on my with this have but".split()
SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
START = datetime(2024, 1, 1, tzinfo=UTC)
# The 3,500 most common Han characters sit mostly in this block; a sample of it will do.
HAN = [chr(code) for code in range(0x4E00, 0x4E00 + 3_500)]
CJK_FUNCTION_WORDS = "的 了 是 我 你 在 和 有 这 就 也 不 吗 吧 呢".split()


class Corpus:
    def __init__(self, seed: int = 7, script: str = "latin") -> None:
        self.random = random.Random(seed)
        self.cjk = script == "cjk"
        self.space = "" if self.cjk else " "
        words: set[str] = set()
        while len(words) < VOCABULARY:
            if self.cjk:
                words.add("".join(self.random.choices(HAN, k=self.random.randint(1, 3))))
            else:
                words.add("".join(self.random.choices(SYLLABLES, k=self.random.randint(2, 4))))
        self.words = sorted(words)
        self.random.shuffle(self.words)
        self.weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(VOCABULARY)))

    def message(self) -> str:
        count = self.random.randint(4, 30)
        content = self.random.choices(self.words, cum_weights=self.weights, k=count)
        function_words = CJK_FUNCTION_WORDS if self.cjk else FUNCTION_WORDS
        for _ in range(count // 3):
            content.insert(self.random.randrange(len(content)), self.random.choice(function_words))
        return self.space.join(content)

    def query(self) -> str:
        # Mixed frequency: some common words, some from the long tail.
        picks = [self.words[int(self.random.paretovariate(0.6)) % VOCABULARY] for _ in range(3)]
        picks += self.random.sample(self.words[:5_000], self.random.randint(0, 2))
        if self.cjk:
            return "我说过" + "".join(picks) + "什么"
        return "what did I say about " + " ".join(picks)

    def lines(self, count: int, prefix: str) -> list[HistoryLine]:
        speakers = ("me", "assistant")
        return [
            HistoryLine(
                f"{prefix}-{i}",
                speakers[i % 2],
                self.message(),
                START + timedelta(minutes=7 * i),
            )
            for i in range(count)
        ]


async def load(history: History, corpus: Corpus, users: int, per_user: int) -> tuple[list, float]:
    """Import `per_user` messages for each of `users` users; returns users and messages/s."""
    people = []
    elapsed = 0.0
    for n in range(users):
        user = await history.ensure_user(f"bench:u{n}")
        people.append(user)
        for start in range(0, per_user, 10_000):
            lines = corpus.lines(min(10_000, per_user - start), f"u{n}-{start}")
            began = time.perf_counter()
            await history.import_lines(user, lines)
            elapsed += time.perf_counter() - began
    return people, users * per_user / elapsed


async def index_size(engine: AsyncEngine) -> int:
    """Bytes held by the full-text index of messages (FTS5 tables; tsvector column + GIN)."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            listed = text("SELECT name FROM sqlite_master WHERE name LIKE 'messages_fts_%data'")
            total = 0
            for name in (await connection.execute(listed)).scalars().all():
                summed = text(f"SELECT coalesce(sum(length(block)), 0) FROM {name}")
                total += int((await connection.execute(summed)).scalar() or 0)
            return total
        sized = text(
            "SELECT pg_relation_size('ix_messages_search_vector') "
            "+ coalesce((SELECT sum(pg_column_size(search_vector)) FROM messages), 0)"
        )
        return int((await connection.execute(sized)).scalar() or 0)


async def scenario(
    url: str, label: str, users: int, per_user: int, queries: int, script: str
) -> None:
    engine = db.create_engine(url)
    await db.upgrade(engine)
    history = History(engine, Searcher(engine))
    corpus = Corpus(script=script)
    people, rate = await load(history, corpus, users, per_user)
    if engine.dialect.name == "postgresql":
        # What autovacuum does in steady state: merge the GIN pending list, gather stats.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")
    for user in people[:2]:  # warm caches
        await history.search(user, corpus.query(), 10)
    latencies = []
    found = 0
    for _ in range(queries):
        user = corpus.random.choice(people)
        query = corpus.query()
        began = time.perf_counter()
        results = await history.search(user, query, 10)
        latencies.append((time.perf_counter() - began) * 1000)
        found += bool(results)
    size = await index_size(engine)
    await engine.dispose()
    print(
        f"{label:<12} {script:<5} {users * per_user:>9,} msgs ({users} x {per_user:,})  "
        f"insert {rate:>8,.0f} msg/s  search p50 {percentile(latencies, 0.5):6.1f} ms  "
        f"p95 {percentile(latencies, 0.95):6.1f} ms  index {size / 1e6:6.1f} MB  "
        f"({found}/{queries} queries found results)"
    )


async def main_async(args: argparse.Namespace) -> None:
    print("target: search p95 <= 50 ms at 100k messages per user (top 10, messages + memories)")
    for kind in args.db:
        with tempfile.TemporaryDirectory() as tmp:
            if args.one_user:
                with database(kind, Path(tmp)) as url:
                    await scenario(url, kind, 1, args.one_user, args.queries, args.script)
            if args.users:
                with database(kind, Path(tmp) / "many") as url:
                    await scenario(url, kind, args.users, args.per_user, args.queries, args.script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--one-user", type=int, default=100_000, help="0 to skip")
    parser.add_argument("--users", type=int, default=1_000, help="0 to skip")
    parser.add_argument("--per-user", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--script", choices=["latin", "cjk"], default="latin")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
