"""Shared pieces of the benchmarks: a fake model server process, throwaway databases,
and a minimal chat channel that timestamps deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from bot.chat.channels import ChatRef, MessageRef, Outbound

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def fake_model_server() -> Iterator[str]:
    """The fake OpenAI-compatible server in its own process; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the fake model server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL database; yields its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"clawling_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


class _Stream:
    def __init__(self, channel: TimingChannel, chat: ChatRef) -> None:
        self._channel = channel
        self._chat = chat

    async def update(self, text: str) -> None:
        return None

    async def finish(self, text: str) -> list[MessageRef]:
        self._channel.delivered(self._chat, text)
        return [MessageRef(self._chat, "1")]


class TimingChannel:
    """A chat channel that records when each final reply arrives."""

    name = "bench"

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[float]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: Outbound) -> MessageRef:
        self.delivered(message.chat, message.text)
        return MessageRef(message.chat, "1")

    async def edit(self, ref: MessageRef, text: str) -> None:
        return None

    async def typing(self, chat: ChatRef) -> None:
        return None

    def open_stream(self, chat: ChatRef, reply_to: str | None) -> _Stream:
        return _Stream(self, chat)

    def expect(self, chat_id: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[chat_id] = future
        return future

    def delivered(self, chat: ChatRef, text: str) -> None:
        future = self._waiting.pop(chat.chat_id, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())
