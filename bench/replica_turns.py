"""Turn throughput of 1 vs 2 `clawling run` replicas sharing one PostgreSQL database.

Real `clawling run` processes in Telegram webhook mode; this process plays the load
balancer (each update POSTed to the next replica in turn) and the fake Bot API server
(aiohttp, here), and the fake model server answers at once in its own process. N chats
each send their next message the moment the answer to the last one arrives (no think
time, so the replicas are saturated); prints turns/s, the time from POST to answer
(p50/p99), and the CPU seconds each party used per 100 turns, which shows what limits
the figure on this machine.

It compares the same load on one replica and on two. For scale: `bench.turn_overhead`
(one process, no HTTP, SQLite) does about 200 turns/s; `bench.telegram_latency` times
one in-process app over long polling. A replica's turn here also stores its update in
the inbox before the 200, takes the conversation's advisory lock and claims its turn
number (issue 20), all on PostgreSQL.

    python -m bench.replica_turns [--chats 40] [--turns 10] [--replicas 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from adapters.telegram import SECRET_HEADER, WEBHOOK_PATH
from bench._common import POSTGRES_ADMIN_URL, ROOT, database, percentile
from tests.fakes.telegram_server import FakeTelegram

SECRET = "bench-secret"
FIRST_USER = 7000
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def backends(url: str) -> list[int]:
    """The PostgreSQL server processes connected to the database at `url` (the
    replicas' pools are warm by the time this is asked)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))
        return [int(pid) for (pid,) in rows]


def machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine so far, every core summed."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def model_server() -> Iterator[tuple[str, int]]:
    """The fake model server in its own process; yields its URL and pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process.pid
    finally:
        process.terminate()
        process.wait(10)


@contextlib.asynccontextmanager
async def replicas(env: dict[str, str], count: int) -> AsyncIterator[list[tuple[int, int]]]:
    """`count` replicas, started one after another; yields (port, pid) of each."""
    started: list[tuple[asyncio.subprocess.Process, int]] = []
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(count):
                port = free_port()
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot.cli", "run",
                    env={**env, "CLAWLING_HTTP_PORT": str(port)},
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip
                started.append((process, port))
                for _ in range(600):
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                            if answer.status == 200:
                                break
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError("a replica did not start")
        yield [(port, process.pid) for process, port in started]
    finally:
        for process, _ in started:
            process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 30)


class Balancer:
    """POSTs each update to the next replica and resolves a chat's waiter on its answer."""

    def __init__(self, telegram: FakeTelegram, ports: list[int], http: aiohttp.ClientSession):
        self.http = http
        self.urls = itertools.cycle(f"http://127.0.0.1:{p}{WEBHOOK_PATH}" for p in ports)
        self.update_ids = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[None]] = {}
        telegram.on_request = self._seen

    def _seen(self, method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage":
            future = self.waiting.pop(int(params["chat_id"]), None)
            if future is not None and not future.done():
                future.set_result(None)

    async def ask(self, user_id: int, words: str) -> float:
        """Posts `words` as `user_id`; returns the seconds until the answer was sent."""
        person = FakeTelegram.user(user_id, f"U{user_id}")
        n = next(self.update_ids)
        message = {
            "message_id": n,
            "date": 1,
            "chat": FakeTelegram.private(person),
            "from": person,
            "text": words,
        }
        future = asyncio.get_running_loop().create_future()
        self.waiting[user_id] = future
        started = time.perf_counter()
        update = {"update_id": n, "message": message}
        async with self.http.post(
            next(self.urls), json=update, headers={SECRET_HEADER: SECRET}
        ) as answer:
            if answer.status != 200:
                raise RuntimeError(f"the replica answered {answer.status}")
        await asyncio.wait_for(future, 60)
        return time.perf_counter() - started


async def measure(url: str, workdir: Path, count: int, chats: int, turns: int) -> str:
    telegram = await FakeTelegram().start()
    users = [FIRST_USER + n for n in range(chats)]
    with model_server() as (model_url, model_pid):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))},
            "PYTHONPATH": str(ROOT),
            "OPENAI_API_KEY": "bench",
            "OPENAI_BASE_URL": model_url,
            "CLAWLING_MODEL": "fake",
            "CLAWLING_LLM_MAX_RETRIES": "0",
            "CLAWLING_DATABASE_URL": url,
            "CLAWLING_DATA_DIR": str(workdir / "data"),
            "CLAWLING_PUBLIC_URL": "https://bot.example.org",
            "CLAWLING_LOG_LEVEL": "WARNING",
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_BASE_URL": telegram.url,
            "TELEGRAM_BASE_FILE_URL": telegram.file_url,
            "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_ALLOWED_USERS": ",".join(map(str, users)),
        }
        try:
            async with replicas(env, count) as started, aiohttp.ClientSession() as http:
                balancer = Balancer(telegram, [port for port, _ in started], http)
                # First contact creates each person and conversation: not timed.
                await asyncio.gather(*(balancer.ask(user, "hello") for user in users))
                pids = {"replicas": [pid for _, pid in started], "model server": [model_pid]}
                database_before = {pid: cpu_seconds(pid) for pid in backends(url)}
                before = {k: sum(map(cpu_seconds, v)) for k, v in pids.items()}
                mine = own_cpu()
                machine = machine_ticks()
                waits: list[float] = []

                async def converse(user: int) -> None:
                    for turn in range(turns):
                        waits.append(await balancer.ask(user, f"message {turn}: how is it going?"))

                began = time.perf_counter()
                await asyncio.gather(*(converse(user) for user in users))
                took = time.perf_counter() - began
                used = {k: sum(map(cpu_seconds, v)) - before[k] for k, v in pids.items()}
                # Backends still there at the end (one that closed meanwhile is not counted).
                used["PostgreSQL backends"] = sum(
                    cpu_seconds(pid) - database_before.get(pid, 0.0) for pid in backends(url)
                )
                used["this process (balancer, fake Bot API)"] = own_cpu() - mine
                busy, ticks = (
                    end - start for end, start in zip(machine_ticks(), machine, strict=True)
                )
        finally:
            await telegram.stop()
    done = chats * turns
    shares = ", ".join(f"{name} {seconds / done * 100:.2f}" for name, seconds in used.items())
    return (
        f"{done / took:.0f} turns/s; POST → answer p50 {percentile(waits, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(waits, 0.99) * 1000:.0f} ms; CPU s per 100 turns: {shares} "
        f"(wall {took / done * 100:.2f} s per 100 turns); the machine was "
        f"{busy / ticks * 100:.0f} % busy over all its cores, other work included"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=40)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    for count in args.replicas:
        with tempfile.TemporaryDirectory() as workdir, database("postgresql", Path(workdir)) as url:
            figures = await measure(url, Path(workdir), count, args.chats, args.turns)
        print(f"{count} replica(s), {args.chats} chats × {args.turns} turns: {figures}")


if __name__ == "__main__":
    asyncio.run(main())
