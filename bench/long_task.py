"""Benchmark: a 1,000-step background task and 1,000 scheduled jobs, against the fake model.

Run from the repository root:  .venv/bin/python -m bench.long_task [--steps 1000] [--jobs 1000]
                                [--database-url postgresql+asyncpg://...]

Prints, and compares with the targets of issue 6:
- the largest prompt of any step (our estimate and the provider-reported size) against
  CLAWLING_TASK_CONTEXT_TOKENS: a step must never carry the task's whole history;
- RSS at the start and the end of the task (growth target < 50 MB);
- steps per second (the fake model answers at once: this is our own overhead);
- scheduler accuracy: fire-time error p50/p99 for N one-off reminders (target p99 < 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.agent.prompt import estimate_tokens
from bot.app import App, build_app
from bot.background.when import Schedule
from tests.bot.harness.background import poll
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

CONTEXT_TOKENS = 12_000
THINKING = "Looking at the next item and comparing it with what the notes say. " * 12


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class StepModel:
    """The fake model's answers for the task; keeps only the sizes of requests."""

    def __init__(self, server: FakeOpenAI, last_step: int) -> None:
        self.server = server
        self.last_step = last_step
        self.estimated: list[int] = []
        self.steps = 0

    def __call__(self, request: dict[str, Any]) -> Reply:
        self.server.requests.clear()  # the benchmark measures our memory, not the fake's
        if "working on a background task" not in request["messages"][0]["content"]:
            return echo(request)
        self.steps += 1
        self.estimated.append(
            estimate_tokens(request["messages"]) + estimate_tokens(request.get("tools", []))
        )
        step = self.steps
        if step == 1:
            return Reply(tool_calls=[("update_plan", {"plan": "1. read items\n2. note\n3. sum"})])
        if step >= self.last_step:
            return Reply(tool_calls=[("finish", {"result": f"done after {step} steps"})])
        if step % 25 == 0:  # condense the notes, as the prompt asks the model to
            return Reply(
                tool_calls=[("save_note", {"note": f"items 1-{step} read", "replace": True})]
            )
        return Reply(
            text=THINKING, tool_calls=[("save_note", {"note": f"item {step}: value {step * 7}"})]
        )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def long_task(app: App, channel: RecordingChannel, model: StepModel) -> dict[str, float]:
    user = await app.store.resolve_identity("test", "bench", "Bench")
    conversation = await app.store.open_conversation(
        "test", "c1", "", is_direct=True, owner_id=user.id
    )
    rss_start = rss_mb()
    started = time.perf_counter()
    task = await app.tasks.start(user, conversation, "Read 1,000 items and sum their values.")
    await poll(
        lambda: any("is done" in t or "stopped" in t for t in channel.texts()),
        within=3600,
        every=0.2,
    )
    seconds = time.perf_counter() - started
    stored = await app.tasks.store.get(task.id)
    steps = stored.step if stored else 0
    return {
        "steps": steps,
        "seconds": seconds,
        "rss_start": rss_start,
        "rss_end": rss_mb(),
        "max_estimated": max(model.estimated),
        "at_10": model.estimated[min(9, len(model.estimated) - 1)],
        "at_last": model.estimated[-1],
    }


async def scheduler_accuracy(app: App, count: int) -> list[float]:
    user = await app.store.resolve_identity("test", "bench-jobs", "Jobs")
    conversation = await app.store.open_conversation(
        "test", "c2", "", is_direct=True, owner_id=user.id
    )
    lead = timedelta(seconds=max(20, count * 0.03))  # time to create them all first
    base = datetime.now(UTC) + lead
    spread = 20.0
    for i in range(count):
        at = base + timedelta(seconds=spread * i / count)
        await app.jobs.add(
            user.id, conversation.id, "reminder", f"r{i}", Schedule({"at": at.isoformat()}, "bench")
        )
    deadline = time.monotonic() + lead.total_seconds() + spread + 60
    while time.monotonic() < deadline:
        done = await app.jobs.store.find(
            user_id=user.id, statuses=("done", "missed"), limit=count + 1
        )
        if len(done) == count:
            break
        await asyncio.sleep(0.5)
    return [
        (job.last_run_at - datetime.fromisoformat(job.schedule["at"])).total_seconds()
        for job in done
        if job.last_run_at is not None
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as server:
        model = StepModel(server, args.steps)
        server.responder = model
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = make_settings(
            server,
            url,
            Path(tmp) / "data",
            http_port=0,
            task_max_steps=args.steps + 10,
            task_max_tokens=10**9,
            task_max_seconds=10**6,
            task_context_tokens=CONTEXT_TOKENS,
            task_progress_seconds=1.0,
        )
        app = build_app(settings)
        await app.prepare_database()
        channel = RecordingChannel()
        app.add_channel(channel)
        await app.start_services()
        try:
            task = await long_task(app, channel, model)
            errors = await scheduler_accuracy(app, args.jobs)
        finally:
            await app.close()
    backend = url.split(":", 1)[0]
    print(f"database: {backend}; fake model answers instantly (figures are Clawling's own cost)")
    print(
        f"task: {task['steps']:.0f} steps in {task['seconds']:.1f} s = {task['steps'] / task['seconds']:.1f} steps/s"
    )
    ok = task["max_estimated"] <= CONTEXT_TOKENS
    print(
        f"max prompt per step: {task['max_estimated']:.0f} tokens (budget {CONTEXT_TOKENS}) -> "
        f"{'OK' if ok else 'OVER'}; step 10: {task['at_10']:.0f}, last step: {task['at_last']:.0f}"
    )
    growth = task["rss_end"] - task["rss_start"]
    print(
        f"RSS: {task['rss_start']:.0f} MB at start, {task['rss_end']:.0f} MB at end, growth {growth:.1f} MB (target < 50)"
    )
    if errors:
        p50, p99 = statistics.median(errors), percentile(errors, 0.99)
        print(
            f"scheduler: {len(errors)}/{args.jobs} jobs fired; fire-time error p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {max(errors) * 1000:.0f} ms (target p99 < 1000 ms)"
        )


if __name__ == "__main__":
    asyncio.run(main())
