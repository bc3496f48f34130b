"""How fast Slack events are acknowledged, and answered, in Socket Mode and HTTP mode.

Slack wants an acknowledgement within 3 seconds, or it redelivers the event. This
runs the whole app (SQLite, real slack-bolt/slack-sdk, real openai client) against
the fake Slack (in the app's process) and the fake model server (its own process), sends EVENTS direct messages
from USERS people at once, and prints acknowledgement latency (compared with the
3 s deadline) and the time until every message was answered. The senders share
the app's event loop and the machine's cores, so high concurrency also measures them.

    .venv/bin/python -m bench.slack_events [EVENTS] [USERS]
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._common import fake_model_server
from tests.adapters.slack.harness import Harness, dm, slack_settings, start_app
from tests.fakes.slack import FakeSlack, SlackEvents, event_body

SLACK_ACK_DEADLINE = 3.0


async def _ack_time(harness: Harness, user: str, n: int) -> float:
    body = event_body(dm(f"message {n}", user=user))
    started = time.perf_counter()
    if harness.mode == "socket":
        await harness.fake.send_envelope("events_api", body)
    else:
        status, _ = await SlackEvents(harness.events_url).post(json.dumps(body))
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
    return time.perf_counter() - started


async def run(mode: str, events: int, users: int, llm_url: str) -> None:
    fake = await FakeSlack().start()
    people = [f"UPERSON{i}" for i in range(users)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = slack_settings(
            llm_url,
            fake,
            f"sqlite:///{tmp}/bench.db",
            Path(tmp),
            mode,
            allowed_users=",".join(people),
        )
        harness = await start_app(settings, fake, mode)
        try:
            started = time.perf_counter()
            acks = await asyncio.gather(
                *(_ack_time(harness, people[i % users], i) for i in range(events))
            )
            await harness.settle()
            total = time.perf_counter() - started
            waiting = 0
            for person in people:
                chat = "D" + person.removeprefix("U")
                conversation = await harness.app.store.open_conversation(
                    "slack", chat, "", is_direct=True, owner_id=None
                )
                waiting += await harness.app.store.unanswered(conversation.id)
        finally:
            await harness.close()
    await fake.stop()
    acks.sort()
    print(
        f"{mode:>6}: {events} DMs from {users} people at once | ack p50 "
        f"{statistics.median(acks) * 1000:.0f} ms, p95 {acks[int(0.95 * (events - 1))] * 1000:.0f}"
        f" ms, max {acks[-1] * 1000:.0f} ms (Slack's deadline: {SLACK_ACK_DEADLINE * 1000:.0f} ms)"
        f" | all answered in {total:.1f} s ({waiting} left unanswered, {len(fake.messages)} replies"
        " — messages arriving during a turn are answered together)"
    )


async def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with fake_model_server() as llm_url:  # in its own process, as in the other benchmarks
        for mode in ("socket", "http"):
            await run(mode, events, users, llm_url)


if __name__ == "__main__":
    asyncio.run(main())
