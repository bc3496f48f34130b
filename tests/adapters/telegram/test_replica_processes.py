"""Two `clawling run` processes in webhook mode on one PostgreSQL database, updates of
several chats spread over both while the model answers slowly: every message answered
once and in order per chat; a replica killed mid-turn leaves its conversation to the
other (memory/db/turn_lock.py: the lock went with its connection)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.telegram import SECRET_HEADER, WEBHOOK_PATH
from memory.db import async_url
from tests.fakes.openai_server import FakeOpenAI, Reply, echo, without_note
from tests.fakes.telegram_server import FakeTelegram

SECRET = "replica-secret"
PEOPLE = [FakeTelegram.user(300 + n, f"P{n}") for n in range(6)]
ROOT = str(Path(__file__).resolve().parents[3])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Replica:
    """`clawling run` in a subprocess, answering webhooks on its own port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**env, "CLAWLING_HTTP_PORT": str(self.port)}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the replica did not start")

    async def post(self, http: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        url = f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"
        async with http.post(url, json=update, headers={SECRET_HEADER: SECRET}) as answer:
            assert answer.status == 200

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 30)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()


def replica_env(
    telegram: FakeTelegram,
    fake_llm: FakeOpenAI,
    postgres_url: str,
    tmp_path: Path,
    people: list[dict[str, Any]] | None = None,
    **changes: str | None,
) -> dict[str, str]:
    """The environment of a `clawling run` replica in webhook mode on `postgres_url`,
    letting `people` in (PEOPLE by default); `changes` set variables (None: unset)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CLAWLING_", "OPENAI_"))}
    env = {
        **{k: v for k, v in base.items() if not k.startswith(("TELEGRAM_", "SLACK_"))},
        "PYTHONPATH": ROOT,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": fake_llm.url,
        "CLAWLING_MODEL": "fake-model",
        "CLAWLING_LLM_MAX_RETRIES": "0",
        "CLAWLING_DATABASE_URL": postgres_url,
        "CLAWLING_DATA_DIR": str(tmp_path / "data"),
        "CLAWLING_PUBLIC_URL": "https://bot.example.org",
        "CLAWLING_LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.url,
        "TELEGRAM_BASE_FILE_URL": telegram.file_url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_ALLOWED_USERS": ",".join(str(p["id"]) for p in people or PEOPLE),
    }
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture
async def replicas(
    telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> AsyncIterator[list[Replica]]:
    env = replica_env(telegram, fake_llm, postgres_url, tmp_path)
    started = [Replica(env), Replica(env)]
    try:
        for replica in started:
            await replica.start()
        yield started
    finally:
        for replica in started:
            await replica.stop()


def update(person: dict[str, Any], words: str, message_id: int) -> dict[str, Any]:
    chat = FakeTelegram.private(person)
    when = int(time.time())  # stored as the message's time: resuming looks at recent ones
    message = {"message_id": message_id, "date": when, "chat": chat, "from": person, "text": words}
    return {"update_id": message_id, "message": message}


def answered_by(request: dict[str, Any]) -> list[str]:
    """The user messages a model request answers: those after its last assistant message."""
    said = [m for m in request["messages"] if m["role"] in {"user", "assistant"}]
    last = max((i for i, m in enumerate(said) if m["role"] == "assistant"), default=-1)
    return [without_note(m["content"]) for m in said[last + 1 :] if m["role"] == "user"]


def slow(seconds: Callable[[str], float]) -> Callable[[dict[str, Any]], Reply]:
    def answer(request: dict[str, Any]) -> Reply:
        new = answered_by(request)
        return Reply(text=echo(request).text, delay=seconds(new[-1] if new else ""))

    return answer


async def user_messages(database_url: str, order: str) -> dict[str, list[tuple[str, int | None]]]:
    """Each chat's user messages with the turn that answered them, in `order`."""
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT c.chat_id, m.content, m.turn FROM messages m"
                    " JOIN conversations c ON c.id = m.conversation_id"
                    f" WHERE m.role = 'user' ORDER BY {order}"
                )
            )
            found: dict[str, list[tuple[str, int | None]]] = {}
            for chat_id, content, turn in rows:
                found.setdefault(chat_id, []).append((content, turn))
            return found
    finally:
        await engine.dispose()


async def inbox_claimant(database_url: str) -> int:
    """The process id of the replica that claimed the (only) stored webhook update."""
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(
                text(
                    "SELECT r.pid FROM inbox i JOIN replicas r ON r.id = i.claimed_by"
                    " ORDER BY i.id LIMIT 1"
                )
            )
    finally:
        await engine.dispose()
    assert pid is not None, "nobody claimed the update"
    return int(pid)


async def user_turns(database_url: str) -> dict[str, list[tuple[str, int | None]]]:
    """Each chat's user messages in history order (as the model is shown them)."""
    return await user_messages(database_url, "m.turn NULLS LAST, m.id")


async def test_chats_spread_over_two_processes_are_answered_once_and_in_order(
    replicas: list[Replica], telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str
) -> None:
    fake_llm.responder = slow(lambda _: 0.3)
    said: dict[int, list[str]] = {p["id"]: [] for p in PEOPLE}
    message_id = 1
    async with aiohttp.ClientSession() as http:
        for round_ in range(4):
            for n, person in enumerate(PEOPLE):
                words = f"chat {n} message {round_}"
                said[person["id"]].append(words)
                # Each chat's messages alternate between the two replicas.
                await replicas[(n + round_) % 2].post(http, update(person, words, message_id))
                message_id += 1
            await asyncio.sleep(0.3)

    async def all_answered() -> bool:
        turns = await user_turns(postgres_url)
        return sum(turn is not None for chat in turns.values() for _, turn in chat) == 24

    for _ in range(600):
        if await all_answered():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # anything answered twice would arrive meanwhile

    # A webhook is answered 200 once queued, so two replicas may store one chat's
    # messages in another order than they were posted; the order that counts is the
    # order they were stored in (their ids), which every replica then keeps.
    arrived = await user_messages(postgres_url, "m.id")
    history = await user_turns(postgres_url)
    for n, person in enumerate(PEOPLE):
        stored = [words for words, _ in arrived[str(person["id"])]]
        assert sorted(stored) == sorted(said[person["id"]])  # none lost
        # The model was given each message as new exactly once, in the stored order.
        mine = [
            words
            for request in fake_llm.requests
            for words in answered_by(request)
            if words.startswith(f"chat {n} ")
        ]
        assert mine == stored
        assert [words for words, _ in history[str(person["id"])]] == stored
        # One answer a turn, none twice.
        answers = telegram.texts(person["id"])
        turns = {turn for _, turn in history[str(person["id"])]}
        assert len(answers) == len(turns) and len(set(answers)) == len(answers)


async def test_a_message_whose_replica_died_mid_turn_is_answered_without_another(
    replicas: list[Replica], telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str
) -> None:
    fake_llm.responder = slow(lambda words: 4.0)
    person = PEOPLE[1]
    async with aiohttp.ClientSession() as http:
        await replicas[0].post(http, update(person, "slow question", 1))
        for _ in range(300):
            if fake_llm.requests:
                break
            await asyncio.sleep(0.05)
        holder = await inbox_claimant(postgres_url)
        await next(r for r in replicas if r.process and r.process.pid == holder).kill()
    killed = time.monotonic()
    # The person says nothing more: the other replica finds the message left waiting.
    await telegram.wait_for(lambda: bool(telegram.texts(person["id"])), 60)
    print(f"\nanswered {time.monotonic() - killed:.1f} s after its replica was killed")
    await asyncio.sleep(1.0)
    assert telegram.texts(person["id"]) == ["echo: slow question"]
    turns = await user_turns(postgres_url)
    assert turns[str(person["id"])] == [("slow question", 1)]


async def test_a_replica_killed_mid_turn_leaves_the_conversation_to_the_other(
    replicas: list[Replica], telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str
) -> None:
    fake_llm.responder = slow(lambda words: 6.0 if words == "slow question" else 0.2)
    person = PEOPLE[0]
    async with aiohttp.ClientSession() as http:
        await replicas[0].post(http, update(person, "slow question", 1))
        for _ in range(300):
            if fake_llm.requests:
                break
            await asyncio.sleep(0.05)
        # Whichever replica claimed the stored update (usually the one it was posted to;
        # any replica's inbox may take it) holds the turn and waits on the model: kill it.
        holder = await inbox_claimant(postgres_url)
        running = next(r for r in replicas if r.process and r.process.pid == holder)
        other = next(r for r in replicas if r is not running)
        await running.kill()
        await other.post(http, update(person, "are you still there?", 2))
    await telegram.wait_for(lambda: bool(telegram.texts(person["id"])), 60)
    await asyncio.sleep(1.0)
    assert telegram.texts(person["id"]) == ["echo: are you still there?"]
    assert answered_by(fake_llm.requests[-1]) == ["slow question", "are you still there?"]
    turns = await user_turns(postgres_url)
    assert turns[str(person["id"])] == [("slow question", 1), ("are you still there?", 1)]
