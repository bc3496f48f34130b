"""What storing webhook events before their 200 costs (memory/inbox.py, bot/chat/inbox.py).

N events over K chats are put by C concurrent "routes" as fast as they can, into one
inbox (SQLite) or spread over R inboxes sharing one PostgreSQL database, each a replica
with its heartbeat, as `clawling run` replicas behind a load balancer. Handlers do
nothing but note the time. Prints, per set-up: the time a route waits for its event to
be stored (p50/p99: what the platform waits for its 200 on top of the old in-memory
queue), events handed on per second, the wait from stored to handed on (p50/p99), and
how many events of a chat were handed on out of stored order (must be 0).

    python -m bench.inbox [--events 2000] [--chats 100] [--routes 20] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import database, percentile
from bot.chat.inbox import DurableInbox
from memory import db
from memory.db.sqltypes import utcnow
from memory.inbox import InboxStore
from memory.replicas import Heartbeat


async def run(url: str, *, events: int, chats: int, routes: int, replicas: int) -> str:
    engine = db.create_engine(url)
    await db.upgrade(engine)
    beats = [Heartbeat(engine, f"bench-{n}") for n in range(replicas)]
    inboxes = [DurableInbox(InboxStore(engine, b.replica_id), now=utcnow) for b in beats]
    stored_at: dict[str, float] = {}
    handed: list[tuple[str, float]] = []
    all_done = asyncio.Event()

    async def handler(payload: dict[str, Any]) -> None:
        handed.append((payload["id"], time.perf_counter()))
        if len(handed) == events:
            all_done.set()

    for beat, inbox in zip(beats, inboxes, strict=True):
        await beat.start()
        inbox.subscribe("bench", handler)
        await inbox.start()
    numbers = iter(range(events))
    put_waits: list[float] = []

    async def route(inbox: DurableInbox) -> None:
        for n in numbers:
            event_id = f"{n:06d}"
            started = time.perf_counter()
            await inbox.put("bench", event_id, f"c{n % chats}", {"id": event_id})
            stored_at[event_id] = time.perf_counter()
            put_waits.append(stored_at[event_id] - started)

    began = time.perf_counter()
    spread = itertools.cycle(inboxes)
    await asyncio.gather(*(route(next(spread)) for _ in range(routes)))
    await asyncio.wait_for(all_done.wait(), 300)
    took = time.perf_counter() - began
    for inbox, beat in zip(inboxes, beats, strict=True):
        await inbox.stop()
        await beat.stop()
    await engine.dispose()

    waits = [at - stored_at[event_id] for event_id, at in handed]
    out_of_order = 0
    for chat in range(chats):
        mine = [event_id for event_id, _ in handed if int(event_id) % chats == chat]
        out_of_order += sum(a > b for a, b in itertools.pairwise(mine))
    return (
        f"route waits for the store p50 {percentile(put_waits, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(put_waits, 0.99) * 1000:.1f} ms; "
        f"{events / took:.0f} events/s handed on; stored → handed on "
        f"p50 {percentile(waits, 0.5) * 1000:.1f} ms, p99 {percentile(waits, 0.99) * 1000:.1f} ms; "
        f"out of order {out_of_order}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--routes", type=int, default=20)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    for kind in args.db:
        for replicas in [1] if kind == "sqlite" else [1, 2]:
            with tempfile.TemporaryDirectory() as workdir, database(kind, Path(workdir)) as url:
                figures = await run(
                    url,
                    events=args.events,
                    chats=args.chats,
                    routes=args.routes,
                    replicas=replicas,
                )
            print(f"{kind}, {replicas} inbox(es): {figures}")


if __name__ == "__main__":
    asyncio.run(main())
