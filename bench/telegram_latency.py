"""What Telegram adds to an answer: update handed out → answer received, beyond the model.

The real app (python-telegram-bot long polling, the session manager, agent and
SQL store) talks to the fake Bot API server (in this process) and to a fake
model that answers at once (its own process, over HTTP through the openai
client). Each message is timed at the fake Bot API, from handing the update
out in getUpdates to receiving the answer's sendMessage; the time spent inside
the model call for that turn is subtracted, leaving Clawling's own overhead:
polling, parsing, access checks, storing, prompt building, rendering Markdown
to entities, typing indicator and the send itself.

Two runs per database, 100 chats each:
- throughput: every chat sends its next message the moment its answer arrives;
  prints answers/s (Telegram itself accepts about 30 messages/s per bot).
- latency: each chat pauses a random think time (mean --think s) between
  messages, a busy bot's load; prints the overhead p50/p99.

Target (issue 3): p50 <= 50 ms overhead beyond the model.

    python -m bench.telegram_latency [--chats 100] [--turns 5] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from adapters.telegram import TelegramTuning
from bench._common import database, fake_model_server, percentile
from bot.app import build_app
from bot.settings import Settings
from tests.fakes.telegram_server import FakeTelegram

FIRST_USER = 1000


class Answers:
    """Resolves a chat's waiter when the fake Bot API receives its sendMessage."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self._waiting: dict[int, asyncio.Future[None]] = {}
        telegram.on_request = self._seen

    def _seen(self, method: str, params: dict[str, Any]) -> None:
        if method == "sendMessage":
            future = self._waiting.pop(int(params["chat_id"]), None)
            if future is not None and not future.done():
                # Resolve after the server has recorded the message.
                asyncio.get_running_loop().call_soon(future.set_result, None)

    async def ask(self, telegram: FakeTelegram, user_id: int, text: str) -> tuple[int, int]:
        """Send as `user_id`; returns (update message id, index of the answer in the chat)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting[user_id] = future
        person = FakeTelegram.user(user_id, f"User{user_id}")
        answered_before = len(telegram.in_chat(user_id))
        message_id = telegram.push_message(FakeTelegram.private(person), person, text)
        await asyncio.wait_for(future, 60)
        return message_id, answered_before


async def measure(
    database_url: str, model_url: str, workdir: Path, chats: int, turns: int, think: float
) -> dict[str, float]:
    telegram = await FakeTelegram().start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        openai={"api_key": "bench", "base_url": model_url},
        clawling={
            "model": "fake",
            "database_url": database_url,
            "data_dir": str(workdir / "data"),
            "llm_max_retries": 0,
            "http_port": 0,
        },
        telegram={
            "bot_token": telegram.token,
            "base_url": telegram.url,
            "base_file_url": telegram.file_url,
            "allowed_users": [str(FIRST_USER + i) for i in range(chats)],
        },
    )
    app = build_app(settings, telegram_tuning=TelegramTuning())
    await app.prepare_database()
    await app.start()

    in_model: defaultdict[int, float] = defaultdict(float)
    complete = app.llm.complete

    async def timed_complete(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await complete(*args, **kwargs)
        finally:
            in_model[kwargs["meta"].conversation_id] += time.perf_counter() - started

    app.llm.complete = timed_complete  # type: ignore[method-assign]
    answers = Answers(telegram)
    overheads: list[float] = []
    rng = random.Random(7)

    async def first_contact(user_id: int) -> None:
        await answers.ask(telegram, user_id, "hello")  # creates the identity and conversation

    async def converse(user_id: int) -> None:
        conversation = await app.store.open_conversation(
            "telegram", str(user_id), "", is_direct=True, owner_id=None
        )
        for turn in range(turns):
            if think:
                await asyncio.sleep(rng.expovariate(1 / think))
            in_model[conversation.id] = 0.0
            text = f"message {turn}: how are things going today?"
            message_id, index = await answers.ask(telegram, user_id, text)
            handed_out = telegram.delivered_at[(user_id, message_id)]
            arrived = telegram.in_chat(user_id)[index].sent_at
            overheads.append(arrived - handed_out - in_model[conversation.id])

    users = [FIRST_USER + i for i in range(chats)]
    try:
        await asyncio.gather(*(first_contact(user) for user in users))
        started = time.perf_counter()
        await asyncio.gather(*(converse(user) for user in users))
        elapsed = time.perf_counter() - started
    finally:
        await app.close()
        await telegram.stop()
    return {
        "answers_per_s": chats * turns / elapsed,
        "p50_ms": percentile(overheads, 0.50) * 1000,
        "p99_ms": percentile(overheads, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--think", type=float, default=4.0, help="mean think time, latency run")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(
        f"Telegram: {args.chats} private chats x {args.turns} messages through the fake Bot API "
        "(python-telegram-bot long polling), zero-latency fake model over HTTP"
    )
    print(
        "target: p50 <= 50 ms from update handed out to answer received, beyond the model; "
        "Telegram accepts about 30 messages/s per bot"
    )
    with fake_model_server() as model_url:
        for kind in args.db:
            for think in (0.0, args.think):
                with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
                    result = asyncio.run(
                        measure(url, model_url, Path(tmp), args.chats, args.turns, think)
                    )
                if think:
                    offered = args.chats / think
                    label = f"latency (~{offered:.0f} msg/s offered)"
                    rate = ""
                else:
                    label = "throughput"
                    rate = f"{result['answers_per_s']:.1f} answers/s   "
                print(
                    f"{kind:<10} {label:<30} {rate:<22}beyond the model: "
                    f"p50 {result['p50_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms"
                )


if __name__ == "__main__":
    main()
