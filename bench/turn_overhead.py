"""How much time a turn spends outside the model, with many conversations at once.

N conversations each send T messages to a fake model that answers instantly
(a separate process, over real HTTP through the openai client). For every turn
we take the time from handing the message in to the reply being delivered,
minus the time spent inside the model call: Clawling's own overhead (store,
load history, build the prompt, record usage, deliver).

Two runs per database:
- throughput: every conversation sends its next message the moment the reply
  arrives (no think time), so the process is saturated; prints turns/s.
- latency: the same conversations, each pausing a random think time (mean
  --think seconds) between messages, as people do; prints the overhead
  p50/p99. In the saturated run the overhead is mostly waiting for the other
  49 turns (Little's law: 50 in flight at 200/s is 250 ms each), so latency
  is measured under a realistic, not an impossible, load.

Target on 2 cores, SQLite, 50 conversations: >= 200 turns/s, p99 <= 25 ms.

    python -m bench.turn_overhead [--conversations 50] [--turns 20] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._common import TimingChannel, database, fake_model_server, percentile
from bot.app import build_app
from bot.chat.channels import Inbound
from bot.settings import Settings


async def measure(
    database_url: str,
    model_url: str,
    workdir: Path,
    conversations: int,
    turns: int,
    think: float,
    phase: Callable[[bool], None] = lambda _measuring: None,
) -> dict[str, float]:
    """Run the conversations; `phase(True)` / `phase(False)` mark the measured part."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        openai={"api_key": "bench", "base_url": model_url},
        clawling={
            "model": "fake",
            "database_url": database_url,
            "data_dir": str(workdir / "data"),
            "max_concurrent_turns": conversations,
            "llm_max_retries": 0,
            "http_port": 0,
        },
    )
    app = build_app(settings)
    await app.prepare_database()
    channel = TimingChannel()
    app.add_channel(channel)
    await app.start()  # as `clawling run` does: services, HTTP server

    in_model: defaultdict[int, float] = defaultdict(float)
    complete = app.llm.complete

    async def timed_complete(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await complete(*args, **kwargs)
        finally:
            in_model[kwargs["meta"].conversation_id] += time.perf_counter() - started

    app.llm.complete = timed_complete  # type: ignore[method-assign]

    async def say(chat: str, text: str) -> float:
        arrived = channel.expect(chat)
        started = time.perf_counter()
        await app.sessions.handle(
            Inbound(channel="bench", chat_id=chat, sender_id=chat, sender_name=chat, text=text)
        )
        return await asyncio.wait_for(arrived, 60) - started

    overheads: list[float] = []

    rng = random.Random(7)

    async def warm_up(index: int) -> None:
        await say(f"chat{index}", "warm-up")

    # Every conversation exists and has answered once before anything is measured.
    await asyncio.gather(*(warm_up(i) for i in range(conversations)))

    async def converse(index: int) -> None:
        chat = f"chat{index}"
        conversation = await app.store.open_conversation(
            "bench", chat, "", is_direct=True, owner_id=None
        )
        for turn in range(turns):
            if think:
                await asyncio.sleep(rng.expovariate(1 / think))
            in_model[conversation.id] = 0.0
            total = await say(chat, f"message {turn} from {chat}: how are things going today?")
            overheads.append(total - in_model[conversation.id])

    phase(True)
    started = time.perf_counter()
    await asyncio.gather(*(converse(i) for i in range(conversations)))
    elapsed = time.perf_counter() - started
    phase(False)
    await app.close()
    return {
        "turns_per_s": conversations * turns / elapsed,
        "p50_ms": percentile(overheads, 0.50) * 1000,
        "p99_ms": percentile(overheads, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0, help="mean think time, latency run")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(
        f"turn overhead: {args.conversations} concurrent conversations x {args.turns} turns, "
        "zero-latency fake model over HTTP"
    )
    print("target (SQLite, 2 cores): >= 200 turns/s, p99 <= 25 ms outside the model")
    with fake_model_server() as model_url:
        for kind in args.db:
            for think in (0.0, args.think):
                with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
                    result = asyncio.run(
                        measure(url, model_url, Path(tmp), args.conversations, args.turns, think)
                    )
                label = "throughput" if not think else f"latency (think {think:g} s)"
                print(
                    f"{kind:<10} {label:<22} {result['turns_per_s']:7.1f} turns/s   "
                    f"outside the model: p50 {result['p50_ms']:6.2f} ms   "
                    f"p99 {result['p99_ms']:6.2f} ms"
                )


if __name__ == "__main__":
    main()
