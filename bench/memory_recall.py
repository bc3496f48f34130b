"""Retrieval quality on LoCoMo (recall@1/5/10 per question category, search latency), and
on a small multilingual set of our own (`--set multilingual`, bench/multilingual_set.py):
the same facts in Chinese and English, a few in Japanese and Korean, asked in other words.

Each conversation is imported as one user's history through the same code as
`clawling memory import`; every question is asked through the same code as
`clawling memory search`. No model is called. The metric is the LoCoMo paper's:
the share of a question's evidence turns found in the top k, averaged.

    python -m bench.memory_recall [--data PATH] [--db sqlite postgresql] [--database-url URL]
                                  [--set locomo|multilingual]

Data: LoCoMo (Maharana et al., ACL 2024), CC BY-NC 4.0 — see ../shared/bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import database, percentile  # noqa: E402
from bench.multilingual_set import conversations  # noqa: E402
from memory import db  # noqa: E402
from memory.history import History, parse_lines  # noqa: E402
from memory.retrieval.search import Searcher  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "locomo-dev.json"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
KS = (1, 5, 10)
EVIDENCE = re.compile(r"D:?(\d+):0*(\d+)")


def session_time(text: str) -> datetime:
    """'1:56 pm on 8 May, 2023' → an aware datetime."""
    return datetime.strptime(text.replace(" on ", " "), "%I:%M %p %d %B, %Y").replace(tzinfo=UTC)


def history_lines(conversation: dict[str, Any]) -> list[str]:
    """The conversation as `memory import` JSONL lines (an image's caption joins its text)."""
    lines = []
    number = 1
    while f"session_{number}" in conversation:
        start = session_time(conversation[f"session_{number}_date_time"])
        for offset, turn in enumerate(conversation[f"session_{number}"]):
            text = turn["text"]
            if turn.get("blip_caption"):
                text = f"{text} [image: {turn['blip_caption']}]"
            at = start + timedelta(seconds=offset)
            line = {"ref": turn["dia_id"], "speaker": turn["speaker"], "text": text}
            lines.append(json.dumps({**line, "at": at.isoformat()}))
        number += 1
    return lines


def evidence_ids(raw: list[str]) -> tuple[set[str], int]:
    """Evidence turn ids, repairing malformed ones ('D8:6; D9:17', 'D:11:26', 'D30:05');
    returns the ids and how many raw entries needed repair."""
    found: set[str] = set()
    repaired = 0
    for item in raw:
        matches = EVIDENCE.findall(item)
        if [f"D{a}:{b}" for a, b in matches] != [item]:
            repaired += 1
        found.update(f"D{a}:{b}" for a, b in matches)
    return found, repaired


async def run(samples: list[dict[str, Any]], data: Path, url: str) -> None:
    engine = db.create_engine(url)
    await db.upgrade(engine)
    history = History(engine, Searcher(engine))
    scores: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    latencies: list[float] = []
    repaired = skipped = imported = 0
    for sample in samples:
        user = await history.ensure_user(f"bench:{sample['sample_id']}")
        lines, bad = parse_lines(history_lines(sample["conversation"]))
        if bad:
            raise SystemExit(f"{sample['sample_id']}: bad lines {bad[:3]}")
        imported += (await history.import_lines(user, lines)).imported
        for qa in sample["qa"]:
            evidence, fixed = evidence_ids(qa["evidence"])
            repaired += fixed
            if not evidence:
                skipped += 1
                continue
            started = time.perf_counter()
            results = await history.search(user, qa["question"], max(KS))
            latencies.append(time.perf_counter() - started)
            refs = [r["ref"] for r in results]
            category = CATEGORIES.get(qa["category"], str(qa["category"]))
            for k in KS:
                found = len(evidence & set(refs[:k])) / len(evidence)
                scores[category][k].append(found)
                scores["overall"][k].append(found)
    await engine.dispose()
    print(f"LoCoMo dev ({data.name}): {len(samples)} conversations, {imported} turns imported,")
    print(
        f"{len(scores['overall'][1])} questions asked; {skipped} without evidence skipped, "
        f"{repaired} malformed evidence ids repaired. Backend: {db.safe_url(url).split(':')[0]}."
    )
    print(f"{'category':<13}{'n':>5}" + "".join(f"{'R@' + str(k):>8}" for k in KS))
    for name in [*CATEGORIES.values(), "overall"]:
        if name in scores:
            row = scores[name]
            cells = "".join(f"{100 * statistics.fmean(row[k]):8.1f}" for k in KS)
            print(f"{name:<13}{len(row[1]):>5}{cells}")
    p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
    print(f"search latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(
        "Compare: plain BM25 over single turns (whole LoCoMo set) R@5 50.4, R@10 57.8; "
        "LoCoMo paper's best dense retriever (DRAGON) R@5 58.8, R@10 67.5."
    )


async def run_multilingual(url: str) -> None:
    """Each language's conversation imported for its own person, every question asked."""
    engine = db.create_engine(url)
    await db.upgrade(engine)
    history = History(engine, Searcher(engine))
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    print(f"Multilingual set, backend: {db.safe_url(url).split(':')[0]}.")
    print(f"{'language':<13}{'n':>5}" + "".join(f"{'R@' + str(k):>8}" for k in KS) + "     p50")
    for language, (turns, questions) in conversations().items():
        user = await history.ensure_user(f"bench:{language}")
        raw = [
            json.dumps(
                {
                    "ref": ref,
                    "speaker": "assistant" if i % 5 == 4 else "me",
                    "text": text,
                    "at": (start + timedelta(minutes=10 * i)).isoformat(),
                }
            )
            for i, (ref, text) in enumerate(turns)
        ]
        lines, bad = parse_lines(raw)
        if bad:
            raise SystemExit(f"{language}: bad lines {bad[:3]}")
        await history.import_lines(user, lines)
        found: dict[int, list[float]] = defaultdict(list)
        latencies = []
        for question, ref in questions:
            started = time.perf_counter()
            refs = [r["ref"] for r in await history.search(user, question, max(KS))]
            latencies.append(time.perf_counter() - started)
            for k in KS:
                found[k].append(float(ref in refs[:k]))
        cells = "".join(f"{100 * statistics.fmean(found[k]):8.1f}" for k in KS)
        p50 = percentile(latencies, 0.5) * 1000
        print(f"{language:<13}{len(questions):>5}{cells}{p50:6.1f} ms")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="locomo JSON file")
    parser.add_argument("--db", nargs="+", default=["sqlite"], help="sqlite and/or postgresql")
    parser.add_argument("--database-url", help="use this (empty) database instead")
    parser.add_argument("--set", choices=["locomo", "multilingual"], default="locomo")
    args = parser.parse_args()
    if args.set == "multilingual":
        for kind in args.db:
            with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
                asyncio.run(run_multilingual(url))
        return
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found; pass --data PATH (see ../shared/bench/README.md)")
    samples = json.loads(args.data.read_text())
    if args.database_url:
        asyncio.run(run(samples, args.data, args.database_url))
        return
    for kind in args.db:
        with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
            asyncio.run(run(samples, args.data, url))


if __name__ == "__main__":
    main()
