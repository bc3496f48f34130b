"""Benchmark: background task steps per second on 1, 2 and 4 `clawling worker` processes
(CLAWLING_QUEUE_URL on the same PostgreSQL), against the fake model.

Run from the repository root:
    .venv/bin/python -m bench.worker_steps [--tasks 40] [--steps 10] [--workers 1 2 4]
                                           [--model-seconds 0] [--concurrency 10]

For each worker count: a fresh PostgreSQL database, the chat side in this process (the
leader hands steps to the queue, its deliverer sends the results to a recording channel),
the workers started and registered before the clock starts, then `--tasks` tasks of
`--steps` steps each started through the chat at once. The clock stops when every result
has been delivered. Printed: steps per second, a step's share of CPU in the workers and
in this process, and PostgreSQL's, which says what limits the figure on this machine.
With `--model-seconds` above 0 each model call takes that long, as a real one does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench._common import ROOT, database
from bot.app import build_app
from tests.bot.harness.background import is_task_step, poll, step_of
from tests.conftest import make_settings
from tests.fakes.chat import RecordingChannel
from tests.fakes.openai_server import FakeOpenAI, Reply, echo

TICKS = os.sysconf("SC_CLK_TCK")


def answers(steps: int, seconds: float) -> Any:
    def respond(request: dict[str, Any]) -> Reply:
        if not is_task_step(request):
            return echo(request)
        step = step_of(request)
        if step >= steps:
            return Reply(tool_calls=[("finish", {"result": f"done after {step} steps"})])
        return Reply(tool_calls=[("save_note", {"note": f"step {step}"})], delay=seconds)

    return respond


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (and its waited-for children)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


async def postgres_cpu(url: str) -> float:
    """CPU time of the PostgreSQL backends serving this benchmark's database (its pools
    live through the run; other work on the machine is left out)."""
    conninfo = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(conninfo) as connection:
        found = await connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        pids = [int(pid) for (pid,) in await found.fetchall()]
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            continue  # ended meanwhile
    return total


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def registered_workers(url: str) -> int:
    conninfo = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(conninfo) as connection:
        found = await connection.execute("SELECT count(*) FROM procrastinate_workers")
        row = await found.fetchone()
    return int(row[0]) if row else 0


async def one_run(
    model: FakeOpenAI, url: str, workdir: Path, workers: int, args: argparse.Namespace
) -> dict[str, float]:
    settings = make_settings(
        model, url, workdir / "data", queue_url=url, tasks_per_user=100, http_port=0
    )
    app = build_app(settings)
    await app.prepare_database()
    channel = RecordingChannel("bench")
    app.add_channel(channel)
    await app.start_services()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": model.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_DATABASE_URL": url,
        "CLAWLING_QUEUE_URL": url,
        "CLAWLING_DATA_DIR": str(workdir / "worker-data"),
        "CLAWLING_LOG_LEVEL": "WARNING",
    }
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "worker",
            "--concurrency",
            str(args.concurrency),
            "--http-port",
            "0",  # each worker serves /metrics; several on one machine need their own
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(workers)
    ]
    try:
        await poll(lambda: _all_registered(url, workers), within=120, every=0.2)
        cpu_before = [cpu_seconds(p.pid) for p in processes]
        own_before, pg_before = own_cpu(), await postgres_cpu(url)
        started = time.perf_counter()
        for n in range(args.tasks):
            inbound = channel.inbound(f"/task count to {args.steps}", chat=f"c{n}", sender=f"u{n}")
            await app.sessions.handle(inbound)

        def finished() -> bool:
            return sum("is done" in t for t in channel.texts()) >= args.tasks

        await poll(finished, within=3_600, every=0.05)
        elapsed = time.perf_counter() - started
        steps = args.tasks * args.steps
        worker_cpu = sum(cpu_seconds(p.pid) for p in processes) - sum(cpu_before)
        return {
            "steps_per_second": steps / elapsed,
            "worker_ms_per_step": 1_000 * worker_cpu / steps,
            "chat_ms_per_step": 1_000 * (own_cpu() - own_before) / steps,
            "postgres_ms_per_step": 1_000 * (await postgres_cpu(url) - pg_before) / steps,
            "elapsed": elapsed,
            "most_at_once": float(model.max_in_flight),
        }
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await asyncio.wait_for(process.wait(), 60)
        await app.close()


async def _all_registered(url: str, workers: int) -> bool:
    return await registered_workers(url) >= workers


async def main(args: argparse.Namespace) -> None:
    print(
        f"{args.tasks} tasks x {args.steps} steps, model call {args.model_seconds} s, "
        f"{args.concurrency} steps at once per worker, {os.cpu_count()} cores"
    )
    print(
        "workers  steps/s  model calls at once (most)  "
        "CPU ms per step: workers / chat side (fake model incl.) / PostgreSQL"
    )
    with FakeOpenAI(answers(args.steps, args.model_seconds)) as model:
        for workers in args.workers:
            with (
                tempfile.TemporaryDirectory() as scratch,
                database("postgres", Path(scratch)) as url,
            ):
                model.max_in_flight = 0
                figures = await one_run(model, url, Path(scratch), workers, args)
                model.requests.clear()
            print(
                f"{workers:>7}  {figures['steps_per_second']:7.1f}  "
                f"{int(figures['most_at_once']):>26}  "
                f"{figures['worker_ms_per_step']:.1f} / {figures['chat_ms_per_step']:.1f} / "
                f"{figures['postgres_ms_per_step']:.1f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--model-seconds", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=10)
    asyncio.run(main(parser.parse_args()))
