"""Issue 20's acceptance test: three `clawling run` replicas in webhook mode and two
`clawling worker` processes on one PostgreSQL database, 20 chats posted to the replicas
in turn as a load balancer would, the model answering slowly. One replica is SIGKILLed
in the middle of a turn and one worker in the middle of a task step; both are started
again. Every message is answered once and in order per chat, every task's result
arrives once, every reminder fires once, and a tool call approved through another
replica runs once.

Each process talks to its own fake model server, so which one ran a turn or a step is
known (the one to kill, the one to say "yes" past).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.adapters.telegram.test_replica_processes import (
    Replica,
    answered_by,
    replica_env,
    user_messages,
    user_turns,
)
from tests.bot.background.test_worker_processes import Worker
from tests.bot.harness.background import is_task_step, poll, step_of
from tests.fakes.openai_server import FakeOpenAI, Reply, echo, last_user_text
from tests.fakes.telegram_server import FakeTelegram

PEOPLE = [FakeTelegram.user(500 + n, f"S{n}") for n in range(20)]
TALKERS = PEOPLE[:15]  # plain conversations, posted in rounds
TASKERS = PEOPLE[15:18]  # one background task each
REMINDED = PEOPLE[17:20]  # one reminder each, due during the run
APPROVER = PEOPLE[16]  # a tool call that needs a yes
ROUNDS = 4
LAST_STEP = 6
SLOW_STEP = 3  # the step a worker is killed in
SLOW = "slow question"  # the turn a replica is killed in


def chat_model(request: dict[str, Any]) -> Reply:
    """What the replicas' model answers: echoes after a pause; a shell call for "run it";
    a reminder for "remind me N"; a long pause for the slow question."""
    last = [m for m in request["messages"] if m["role"] != "system"][-1]
    if last["role"] == "tool":
        return Reply(text=f"done: {last_user_text(request)}")
    new = answered_by(request)
    words = new[-1] if new else ""
    if words == "run it":
        return Reply(tool_calls=[("shell", {"command": "echo ran-once"})])
    if words.startswith("remind me "):
        note = f"soak reminder {words.split()[-1]}"
        return Reply(tool_calls=[("schedule_reminder", {"message": note, "when": "in 20 seconds"})])
    return Reply(text=echo(request).text, delay=12.0 if words == SLOW else 0.3)


class StepModel:
    """The workers' model: each task saves a note a step and finishes at LAST_STEP; the
    first SLOW_STEP anyone reaches hangs long enough to kill its worker."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.slow_on: str | None = None

    def on(self, worker: str) -> Any:
        def respond(request: dict[str, Any]) -> Reply:
            if not is_task_step(request):
                return echo(request)
            step = step_of(request)
            if step >= LAST_STEP:
                return Reply(tool_calls=[("finish", {"result": f"counted to {step}"})])
            with self.lock:
                slow = step == SLOW_STEP and self.slow_on is None
                if slow:
                    self.slow_on = worker
            return Reply(
                tool_calls=[("save_note", {"note": f"s{step}"})], delay=10 if slow else 0.1
            )

        return respond


class Balancer:
    """Posts each update to the next live replica, as a load balancer would."""

    def __init__(self, replicas: list[Replica], http: aiohttp.ClientSession) -> None:
        self.replicas = replicas
        self.http = http
        self.down: set[int] = set()
        self.turn = itertools.count()
        self.update_id = itertools.count(1)

    async def post(self, person: dict[str, Any], words: str, *, avoid: int | None = None) -> None:
        live = [i for i in range(len(self.replicas)) if i not in self.down and i != avoid]
        replica = self.replicas[live[next(self.turn) % len(live)]]
        n = next(self.update_id)
        chat = FakeTelegram.private(person)
        message = {"message_id": n, "date": 1, "chat": chat, "from": person, "text": words}
        await replica.post(self.http, {"update_id": n, "message": message})


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def cluster(
    telegram: FakeTelegram, fake_llm: FakeOpenAI, postgres_url: str, tmp_path: Path
) -> AsyncIterator[tuple[list[Replica], list[FakeOpenAI], list[Worker], StepModel]]:
    env = replica_env(telegram, fake_llm, postgres_url, tmp_path)
    env |= {
        "CLAWLING_QUEUE_URL": postgres_url,
        "CLAWLING_SHELL": "true",
        "TELEGRAM_ALLOWED_USERS": ",".join(str(p["id"]) for p in PEOPLE),
    }
    steps = StepModel()
    fake_llm.responder = chat_model
    with (
        FakeOpenAI(chat_model) as second,
        FakeOpenAI(chat_model) as third,
        FakeOpenAI(steps.on("a")) as model_a,
        FakeOpenAI(steps.on("b")) as model_b,
    ):
        models = [fake_llm, second, third]
        replicas = [Replica({**env, "OPENAI_BASE_URL": m.url}) for m in models]
        workers = [
            Worker(env, model_a, tmp_path / "worker-a.log"),
            Worker(env, model_b, tmp_path / "worker-b.log"),
        ]
        try:
            await replicas[0].start()  # the first one brings the schema up to date
            await asyncio.gather(*(r.start() for r in replicas[1:]), *(w.start() for w in workers))
            yield replicas, models, workers, steps
        finally:
            for replica in replicas:
                await replica.kill()
            for worker in workers:
                await worker.kill()


def holder_of(models: list[FakeOpenAI], words: str) -> int | None:
    """Which replica's model was asked to answer `words`, if any yet."""
    for i, model in enumerate(models):
        if any(words in answered_by(r) for r in list(model.requests)):
            return i
    return None


async def test_three_replicas_and_two_workers_survive_a_kill_each(
    cluster: tuple[list[Replica], list[FakeOpenAI], list[Worker], StepModel],
    telegram: FakeTelegram,
    postgres_url: str,
) -> None:
    replicas, models, workers, steps = cluster

    def texts(person: dict[str, Any]) -> list[str]:
        return telegram.texts(person["id"])

    said: dict[int, list[str]] = {p["id"]: [] for p in TALKERS}
    async with aiohttp.ClientSession() as http:
        balancer = Balancer(replicas, http)
        for person in TASKERS:
            await balancer.post(person, f"/task count to {LAST_STEP}")
        for n, person in enumerate(REMINDED):
            await balancer.post(person, f"remind me {n}")

        # A tool call asked about on one replica, approved through another.
        await balancer.post(APPROVER, "run it")
        await telegram.wait_for(
            lambda: any("Confirmation needed" in t for t in texts(APPROVER)), 30
        )
        owner = holder_of(models, "run it")
        await balancer.post(APPROVER, "yes", avoid=owner)
        await telegram.wait_for(lambda: "done: run it" in texts(APPROVER), 30)

        # A worker killed in the middle of a step, then started again.
        await poll(lambda: steps.slow_on is not None, within=30)
        killed_worker = workers[0 if steps.slow_on == "a" else 1]
        await killed_worker.kill()
        await killed_worker.start()

        victim: int | None = None
        for round_ in range(ROUNDS):
            for n, person in enumerate(TALKERS):
                words = SLOW if (n, round_) == (0, 1) else f"chat {n} message {round_}"
                said[person["id"]].append(words)
                await balancer.post(person, words)
            if round_ == 1:
                # A replica killed while its model is answering the slow question, once
                # the round's other answers are out and marked sent (a kill between an
                # answer's sendMessage and its mark re-sends it: bot/chat/delivery.py).
                await poll(lambda: holder_of(models, SLOW) is not None, within=30)
                await telegram.wait_for(
                    lambda: all(
                        f"echo: chat {n} message 1" in texts(p) for n, p in enumerate(TALKERS) if n
                    ),
                    30,
                )
                await asyncio.sleep(0.5)
                victim = holder_of(models, SLOW)
                assert victim is not None
                await replicas[victim].kill()
                balancer.down.add(victim)
            if round_ == 2:
                assert victim is not None
                await replicas[victim].start()
                balancer.down.clear()
            await asyncio.sleep(0.3)

    async def all_answered() -> bool:
        turns = await user_turns(postgres_url)
        talked = all(
            len(turns.get(str(p["id"]), [])) == ROUNDS
            and all(turn is not None for _, turn in turns[str(p["id"])])
            for p in TALKERS
        )
        last_answered = all(
            f"echo: chat {n} message {ROUNDS - 1}" in texts(p) for n, p in enumerate(TALKERS)
        )
        done = all(any("is done" in t for t in texts(p)) for p in TASKERS)
        reminded = all(
            any(f"soak reminder {n}" in t for t in texts(p)) for n, p in enumerate(REMINDED)
        )
        return talked and last_answered and done and reminded

    await poll(all_answered, within=75, every=0.5)
    await asyncio.sleep(2.0)  # anything sent twice would arrive meanwhile

    arrived = await user_messages(postgres_url, "m.id")
    history = await user_turns(postgres_url)
    for person in TALKERS:
        chat = str(person["id"])
        # Stored and answered in the order posted, each message in exactly one turn.
        assert [words for words, _ in arrived[chat]] == said[person["id"]]
        assert [words for words, _ in history[chat]] == said[person["id"]]
        turns: dict[int, list[str]] = {}
        for words, turn in history[chat]:
            assert turn is not None
            turns.setdefault(turn, []).append(words)
        assert sorted(turns) == list(range(1, len(turns) + 1))
        # One answer a turn, to its last message; nothing else, nothing twice.
        assert texts(person) == [f"echo: {turns[t][-1]}" for t in sorted(turns)]
    # The slow question's turn died with its replica; the next turn answered it too.
    assert len(history[str(TALKERS[0]["id"])]) == ROUNDS
    assert len({turn for _, turn in history[str(TALKERS[0]["id"])]}) == ROUNDS - 1

    for person in TASKERS:
        results = [t for t in texts(person) if "is done" in t]
        assert len(results) == 1 and f"counted to {LAST_STEP}" in results[0]
    killed_steps = [step_of(r) for r in killed_worker.model.requests if is_task_step(r)]
    assert SLOW_STEP in killed_steps  # it was killed in a step that then ran elsewhere
    for n, person in enumerate(REMINDED):
        assert sum(f"soak reminder {n}" in t for t in texts(person)) == 1
    ran = [
        r
        for model in models
        for r in model.requests
        if r["messages"][-1]["role"] == "tool" and "ran-once" in r["messages"][-1]["content"]
    ]
    assert len(ran) == 1
    assert texts(APPROVER).count("done: run it") == 1
